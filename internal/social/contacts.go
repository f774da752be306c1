package social

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mozillazg/go-pinyin"
	"golang.org/x/text/unicode/norm"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/conversation"
	"github.com/parley-im/parley/ent/conversationmember"
	"github.com/parley-im/parley/ent/friendship"
	"github.com/parley-im/parley/ent/user"
	"github.com/parley-im/parley/ent/viewer"
)

// Contact is one person of the contact book or of the stranger list.
type Contact struct {
	User        *ent.User
	Remark      string
	DisplayName string
	Pinned      bool
	sortKey     string
}

// Section is one initial of the contact book: A to Z, then #.
type Section struct {
	Initial  string
	Contacts []*Contact
}

// ContactBook returns the viewer's friends grouped by the initial of their
// remark-or-nickname, Chinese names by the pinyin of their first
// character (猫猫 → M). Within a section, pinned friends come first, then by
// the name's pinyin. One query.
func (s *Service) ContactBook(ctx context.Context) ([]*Section, error) {
	rows, err := s.read(ctx).Friendship.Query().
		Where(friendship.UserID(viewer.UserID(ctx))).WithFriend().All(ctx)
	if err != nil {
		return nil, fmt.Errorf("social: contact book: %w", err)
	}
	contacts := make([]*Contact, 0, len(rows))
	for _, f := range rows {
		if f.Edges.Friend == nil {
			continue
		}
		contacts = append(contacts, newContact(f.Edges.Friend, f.Remark, f.Pinned))
	}
	return Group(contacts), nil
}

// Strangers returns the people the viewer has a direct conversation with who
// are not his friends, grouped like the contact book.
func (s *Service) Strangers(ctx context.Context) ([]*Section, error) {
	me := viewer.UserID(ctx)
	users, err := s.read(ctx).User.Query().Where(
		user.IDNEQ(me), user.AccountStateNEQ(user.AccountStateDeleted),
		user.HasConversationMembershipsWith(conversationmember.HasConversationWith(
			conversation.KindEQ(conversation.KindDirect),
			conversation.HasMembersWith(conversationmember.UserID(me), conversationmember.Removed(false)),
		)),
		user.Not(user.HasFriendshipsWith(friendship.FriendID(me))),
	).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("social: strangers: %w", err)
	}
	contacts := make([]*Contact, 0, len(users))
	for _, u := range users {
		contacts = append(contacts, newContact(u, "", false))
	}
	return Group(contacts), nil
}

func newContact(u *ent.User, remark string, pinned bool) *Contact {
	name := DisplayName(u, remark)
	return &Contact{User: u, Remark: remark, DisplayName: name, Pinned: pinned, sortKey: SortKey(name)}
}

// Group sorts contacts into sections by Initial.
func Group(contacts []*Contact) []*Section {
	sort.SliceStable(contacts, func(i, j int) bool {
		a, b := contacts[i], contacts[j]
		if a.Pinned != b.Pinned {
			return a.Pinned
		}
		if a.sortKey != b.sortKey {
			return a.sortKey < b.sortKey
		}
		return a.User.ID < b.User.ID
	})
	byInitial := map[string]*Section{}
	var out []*Section
	for _, c := range contacts {
		initial := Initial(c.DisplayName)
		sec := byInitial[initial]
		if sec == nil {
			sec = &Section{Initial: initial}
			byInitial[initial] = sec
			out = append(out, sec)
		}
		sec.Contacts = append(sec.Contacts, c)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Initial, out[j].Initial
		if (a == "#") != (b == "#") {
			return b == "#"
		}
		return a < b
	})
	return out
}

// Initial is the contact-book letter of a name: the first letter of its
// sort key in upper case, so that the letter and the order within it never
// disagree. A Latin letter counts without its accents (Émile is under E,
// Łukasz under L), a leading Chinese name by its surname's reading (曾小明
// is under Z, not C), any other Chinese character by its pinyin; anything
// else is under #.
func Initial(name string) string {
	if key := SortKey(name); key != "" && key[0] >= 'a' && key[0] <= 'z' {
		return strings.ToUpper(key[:1])
	}
	return "#"
}

// SortKey orders names by pronunciation: Latin letters lose their accents
// and case (foldLatin), a leading Chinese surname is read as a surname
// (surnames) and every other Chinese character becomes its pinyin; the
// rest stays as it is. Surrounding spaces do not count.
func SortKey(name string) string {
	name = strings.TrimSpace(name)
	var b strings.Builder
	if py, n := surname(name); n > 0 {
		b.WriteString(py)
		name = name[n:]
	}
	for _, r := range name {
		if unicode.Is(unicode.Han, r) {
			if py := pinyin.LazyPinyin(string(r), pinyin.NewArgs()); len(py) > 0 {
				b.WriteString(py[0])
				continue
			}
		}
		b.WriteRune(r)
	}
	// Folded after the pinyin is in, so that a mark after a Chinese
	// character goes with the letters it became.
	return strings.ToLower(foldLatin(b.String()))
}

// latinLetters are the Latin letters that carry their mark in the letter
// itself, so that Unicode decomposition cannot take it off: each becomes
// the letters a reader files it under.
var latinLetters = map[rune]string{
	'Ø': "O", 'ø': "o", 'Ł': "L", 'ł': "l", 'Đ': "D", 'đ': "d", 'Ð': "D", 'ð': "d",
	'Ħ': "H", 'ħ': "h", 'Ŧ': "T", 'ŧ': "t", 'Ƶ': "Z", 'ƶ': "z", 'Ɨ': "I", 'ɨ': "i",
	'ı': "i", 'ß': "ss", 'ẞ': "SS", 'Æ': "AE", 'æ': "ae", 'Œ': "OE", 'œ': "oe",
	'Þ': "TH", 'þ': "th", 'Ŋ': "N", 'ŋ': "n",
}

// foldLatin takes the accents off Latin letters (É → E, ﬁ → fi, Ｅ → E)
// and spells out the letters of latinLetters. Other scripts keep their
// marks, which there are part of the letter rather than an accent on it.
func foldLatin(s string) string {
	var b strings.Builder
	afterLatin := false
	for _, r := range s {
		if unicode.Is(unicode.Mn, r) {
			if !afterLatin {
				b.WriteRune(r)
			}
			continue
		}
		d := norm.NFKD.String(string(r))
		if base, _ := utf8.DecodeRuneInString(d); !unicode.Is(unicode.Latin, base) {
			b.WriteRune(r)
			afterLatin = false
			continue
		}
		for _, c := range d { // Ǣ is Æ and a macron: both steps apply
			if l, ok := latinLetters[c]; ok {
				b.WriteString(l)
			} else if !unicode.Is(unicode.Mn, c) {
				b.WriteRune(c)
			}
		}
		afterLatin = true
	}
	return b.String()
}
