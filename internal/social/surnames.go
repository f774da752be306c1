package social

import "unicode/utf8"

// surnames are the readings of Chinese surnames, by the characters they are
// written with, for the names the pinyin dictionary reads wrongly at the
// head of a name. go-pinyin knows no surnames: it reads every character by
// its most common reading, so 曾 is "ceng" (曾经) and 单 "dan" (单独),
// though as surnames they are Zeng and Shan, and a contact book that files
// 曾小明 under C hides him from everyone who looks under Z. No maintained Go
// library carries surname readings, so they are kept here.
//
// A name is read with this table only at its head, where a Chinese name
// keeps its surname: a compound (two-character) surname is tried first,
// then a single one; the rest of the name goes through the dictionary as
// before. Readings are plain lower-case pinyin without tones, as go-pinyin
// gives them (ü as v).
//
// The entries are the common surnames with more than one reading. Some
// already agree with the dictionary's everyday reading (沈 shen, 石 shi,
// 尉 wei, 欧阳 ouyang): they are listed so that the names people most often
// get wrong stay right whatever the dictionary says next. Compound surnames
// come first in matching, so 单于 is Chanyu, though 单 alone is Shan.
var surnames = map[string]string{
	// Compound surnames.
	"长孙": "zhangsun",
	"万俟": "moqi",
	"单于": "chanyu",
	"尉迟": "yuchi",
	"澹台": "tantai",
	"令狐": "linghu",
	"宇文": "yuwen",
	"皇甫": "huangfu",
	"欧阳": "ouyang",
	"上官": "shangguan",
	"司马": "sima",
	"诸葛": "zhuge",
	"东方": "dongfang",
	"夏侯": "xiahou",
	"公孙": "gongsun",
	"乐正": "yuezheng",
	"子车": "ziju",
	"夹谷": "jiagu",
	"慕容": "murong",
	"轩辕": "xuanyuan",

	// Single surnames.
	"曾": "zeng",
	"单": "shan",
	"解": "xie",
	"区": "ou",
	"仇": "qiu",
	"覃": "qin",
	"朴": "piao",
	"查": "zha",
	"盖": "ge",
	"乐": "yue",
	"缪": "miao",
	"繁": "po",
	"秘": "bi",
	"种": "chong",
	"重": "chong",
	"翟": "zhai",
	"召": "shao",
	"员": "yun",
	"黑": "he",
	"阚": "kan",
	"便": "pian",
	"尉": "wei",
	"沈": "shen",
	"石": "shi",
	"能": "nai",
	"折": "she",
	"句": "gou",
	"藉": "ji",
	"佴": "nai",
	"应": "ying",
	"殷": "yin",
	"洗": "xian",
	"冼": "xian",
	"隗": "wei",
	"车": "che",
	"車": "che",
	"相": "xiang",
	"参": "can",
	"祭": "zhai",
	"蔚": "yu",
	"颉": "xie",
	"蕃": "pi",
	"都": "du",
	"郇": "xun",
	"褚": "chu",
}

// surname returns the reading of the surname name starts with and its
// length in bytes, or "" and 0 when the name starts with none the table
// knows (the dictionary then reads it).
func surname(name string) (string, int) {
	_, first := utf8.DecodeRuneInString(name)
	if _, second := utf8.DecodeRuneInString(name[first:]); second > 0 {
		if py, ok := surnames[name[:first+second]]; ok {
			return py, first + second
		}
	}
	if py, ok := surnames[name[:first]]; ok && first > 0 {
		return py, first
	}
	return "", 0
}
