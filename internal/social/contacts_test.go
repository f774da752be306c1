package social_test

import (
	"sort"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/internal/social"
)

func TestInitial(t *testing.T) {
	for name, want := range map[string]string{
		"猫猫": "M", "小老鼠": "X", "alice": "A", "Bob": "B", "  zed": "Z",
		"123": "#", "😀 smile": "#", "": "#", "张三": "Z",
		// Accents and letters with a stroke file under their base letter.
		"Élodie": "E", "Émile": "E", "émile": "E", "E\u0301mile": "E", "Øystein": "O", "Łukasz": "L",
		"Ｅmma": "E", "Ægir": "A", "ßeta": "S", "Иван": "#", "Ωmega": "#",
		// Chinese names by their surname's reading, not the everyday one.
		"曾小明": "Z", "单田芳": "S", "解缙": "X", "区志航": "O", "仇英": "Q", "覃雪梅": "Q",
		"长孙无忌": "Z", "朴树": "P", "查良镛": "Z", "尉迟恭": "Y", "万俟卨": "M", "单于": "C",
		"澹台灭明": "T", "翟天临": "Z", "曾": "Z", "  曾小明": "Z",
	} {
		require.Equal(t, want, social.Initial(name), name)
	}
}

func TestSortKey(t *testing.T) {
	require.Equal(t, "maomao", social.SortKey("猫猫"))
	require.Equal(t, "alice", social.SortKey("Alice"))
	require.Equal(t, "emile", social.SortKey("Émile"))
	require.Equal(t, "zengxiaoming", social.SortKey("曾小明"))
	require.Equal(t, "shantianfang", social.SortKey("单田芳"))
	require.Equal(t, "zhangsunwuji", social.SortKey("长孙无忌"))
	require.Equal(t, "cengjing", social.SortKey("x曾经")[1:], "a surname counts only at the head of a name")
	require.Less(t, social.SortKey("阿里巴巴"), social.SortKey("Bob"), "Chinese names sort among Latin ones by pinyin")
	require.Less(t, social.SortKey("Émile"), social.SortKey("Eva"), "accents do not move a name out of its letter")
}

// TestSurnames reads every surname of the table at the head of a name: the
// contact-book letter is that of the surname's reading, and the sort key
// starts with it, so that the name sorts where its letter says.
func TestSurnames(t *testing.T) {
	for name, want := range map[string]string{
		"曾": "zeng", "单": "shan", "解": "xie", "区": "ou", "仇": "qiu", "覃": "qin",
		"朴": "piao", "查": "zha", "盖": "ge", "乐": "yue", "缪": "miao", "繁": "po",
		"秘": "bi", "种": "chong", "翟": "zhai", "召": "shao", "员": "yun", "黑": "he",
		"阚": "kan", "便": "pian", "尉": "wei", "重": "chong", "沈": "shen", "石": "shi",
		"能": "nai", "折": "she", "句": "gou", "藉": "ji", "佴": "nai", "应": "ying",
		"殷": "yin", "洗": "xian", "冼": "xian", "隗": "wei", "车": "che", "車": "che",
		"相": "xiang", "参": "can",
		"尉迟": "yuchi", "长孙": "zhangsun", "万俟": "moqi", "单于": "chanyu", "澹台": "tantai",
		"令狐": "linghu", "宇文": "yuwen", "皇甫": "huangfu", "欧阳": "ouyang", "上官": "shangguan",
		"司马": "sima", "诸葛": "zhuge", "东方": "dongfang",
	} {
		full := name + "明"
		require.Equal(t, want+"ming", social.SortKey(full), full)
		require.Equal(t, strings.ToUpper(want[:1]), social.Initial(full), full)
	}
}

// TestGroupOrdersBySurname: within a section, names sort by the reading
// their letter comes from, pinned first.
func TestGroupOrdersBySurname(t *testing.T) {
	var contacts []*social.Contact
	for i, name := range []string{"张三", "曾小明", "Zoe", "赵六", "Émile", "Eva", "曾"} {
		contacts = append(contacts, social.NewTestContact(i+1, name, name == "赵六"))
	}
	var got []string
	for _, sec := range social.Group(contacts) {
		var names []string
		for _, c := range sec.Contacts {
			names = append(names, c.DisplayName)
		}
		got = append(got, sec.Initial+":"+strings.Join(names, ","))
	}
	require.Equal(t, []string{"E:Émile,Eva", "Z:赵六,曾,曾小明,张三,Zoe"}, got)
	require.True(t, sort.StringsAreSorted([]string{social.SortKey("曾"), social.SortKey("曾小明"), social.SortKey("张三"), social.SortKey("Zoe")}))
}

// FuzzInitial: the contact-book letter of any name is A to Z or #.
func FuzzInitial(f *testing.F) {
	f.Fuzz(func(t *testing.T, name string) {
		got := social.Initial(name)
		if got == "#" {
			return
		}
		if len(got) != 1 || got[0] < 'A' || got[0] > 'Z' {
			t.Fatalf("Initial(%q) = %q", name, got)
		}
	})
}

// FuzzSortKey: the sort key of any name is valid UTF-8 when the name is,
// has no Chinese character left that pinyin knows, is bounded (pinyin
// syllables are at most 6 letters), and is idempotent.
func FuzzSortKey(f *testing.F) {
	f.Fuzz(func(t *testing.T, name string) {
		key := social.SortKey(name)
		if !utf8.ValidString(name) {
			return
		}
		if !utf8.ValidString(key) {
			t.Fatalf("SortKey(%q) = %q: invalid UTF-8", name, key)
		}
		if limit := 6*utf8.RuneCountInString(name) + 3*len(name); len(key) > limit {
			t.Fatalf("SortKey(%q) is %d bytes", name, len(key))
		}
		for _, r := range key {
			if unicode.Is(unicode.Han, r) && social.SortKey(string(r)) != string(r) {
				t.Fatalf("SortKey(%q) = %q keeps %q", name, key, r)
			}
		}
		if again := social.SortKey(key); again != key {
			t.Fatalf("SortKey not idempotent: %q -> %q -> %q", name, key, again)
		}
	})
}
