package social

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"unicode"

	"github.com/mozillazg/go-pinyin"

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
// remark-or-nickname (S2-13), Chinese names by the pinyin of their first
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
// are not his friends (S2-14), grouped like the contact book.
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
	name := remark
	if name == "" {
		name = u.Nickname
	}
	if name == "" {
		name = u.Username
	}
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

// Initial is the contact-book letter of a name: its first letter in upper
// case, the pinyin initial of a leading Chinese character, or # for anything
// else.
func Initial(name string) string {
	for _, r := range strings.TrimSpace(name) {
		switch {
		case r < unicode.MaxASCII && unicode.IsLetter(r):
			return strings.ToUpper(string(r))
		case unicode.Is(unicode.Han, r):
			if py := pinyin.LazyPinyin(string(r), pinyin.NewArgs()); len(py) > 0 && py[0] != "" {
				return strings.ToUpper(py[0][:1])
			}
		}
		return "#"
	}
	return "#"
}

// SortKey orders names by pronunciation: Chinese characters become their
// pinyin, the rest is lower-cased.
func SortKey(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		if unicode.Is(unicode.Han, r) {
			if py := pinyin.LazyPinyin(string(r), pinyin.NewArgs()); len(py) > 0 {
				b.WriteString(py[0])
				continue
			}
		}
		b.WriteRune(r)
	}
	return b.String()
}
