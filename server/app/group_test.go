package app_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/conversation"
	"github.com/parley-im/parley/ent/groupmember"
	"github.com/parley-im/parley/ent/privacy"
	"github.com/parley-im/parley/ent/rule"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/files/filestest"
	"github.com/parley-im/parley/internal/group"
	"github.com/parley-im/parley/internal/platform/dbtest"
	"github.com/parley-im/parley/server/apptest"
)

// grpKit is a server with the group helpers.
type grpKit struct{ *socialServer }

func newGrpKit(t *testing.T, b dbtest.Backend) grpKit { return grpKit{newSocialServer(t, b)} }

// people registers users with nicknames and makes the first one friends
// with all the others.
func (k grpKit) people(names ...string) []account {
	k.T.Helper()
	out := make([]account, len(names))
	for i, n := range names {
		out[i] = k.Register(strings.ToLower(n), map[string]any{"nickname": n})
		if i > 0 {
			k.befriend(out[0], out[i])
		}
	}
	return out
}

const grpFields = `id name notice joinMode muteAll memberCount createdAt conversationId avatar avatarSources owner { id username }`

// groupView is a group as the tests select it (grpFields).
type groupView struct {
	ID, Name, Notice, JoinMode, ConversationID, Avatar string
	MuteAll                                            bool
	MemberCount                                        int
	CreatedAt                                          time.Time
	AvatarSources                                      []string
	Owner                                              struct{ ID, Username string }
}

// create creates a group as owner with the given input.
func (k grpKit) create(owner account, in map[string]any) groupView {
	k.T.Helper()
	var out struct{ CreateGroup groupView }
	k.OK(owner.Token, `mutation($in: CreateGroupInput!) { createGroup(input: $in) { `+grpFields+` } }`, map[string]any{"in": in}, &out)
	return out.CreateGroup
}

// group creates a group of owner with members (his friends) and join mode.
func (k grpKit) group(owner account, mode string, members ...account) groupView {
	k.T.Helper()
	ids := []string{}
	for _, m := range members {
		ids = append(ids, m.ID)
	}
	return k.create(owner, map[string]any{"name": "team", "joinMode": mode, "memberIds": ids})
}

const grpCard = `query($id: ID!) { group(id: $id) { ` + grpFields + ` members(first: 50) { totalCount edges { node { role alias displayName remark muted mutedUntil user { id username nickname } } } } } }`

type grpMemberOut struct {
	Role, Alias, DisplayName string
	Remark                   *string
	Muted                    bool
	MutedUntil               *time.Time
	User                     struct{ ID, Username, Nickname string }
}

type grpCardOut struct {
	groupView
	Members struct {
		TotalCount int
		Edges      []struct{ Node grpMemberOut }
	}
}

// card reads a group as token (empty: anonymously); nil when it is gone.
func (k grpKit) card(token, id string) *grpCardOut {
	k.T.Helper()
	var out struct{ Group *grpCardOut }
	k.OK(token, grpCard, map[string]any{"id": id}, &out)
	return out.Group
}

func (c *grpCardOut) roles() map[string]string {
	out := map[string]string{}
	for _, e := range c.Members.Edges {
		out[e.Node.User.Username] = e.Node.Role
	}
	return out
}

// sendGroup posts text to a group through messaging's send.
func (k grpKit) sendGroup(from account, group, text string) response {
	k.T.Helper()
	return k.Do(from.Token, `mutation($in: SendInput!) { send(input: $in) { id seq text } }`,
		map[string]any{"in": map[string]any{"groupId": group, "text": text}})
}

// texts returns the texts of a conversation's last 100 messages as a sees
// them, oldest first.
func (k grpKit) texts(a account, conv string) []string {
	k.T.Helper()
	return apptest.Map(k.lastMessages(a, conv), func(m apptest.Message) string { return m.Text })
}

// grpEvent is one event of any subscription returning LiveEvent.
type grpEvent struct {
	Cursor, Kind string
	Reason       *string
	SubjectID    *string
	Data         map[string]any
	Node         *struct {
		ID, Text, Username, Name, Type, Operation, Postscript string
	}
}

const grpEventFields = `cursor kind reason subjectId data node { id ... on Message { text } ... on User { username } ... on Group { name } ... on Room { name } ... on Notice { type operation postscript } }`

// nextOf reads the next message of subscription field and returns its event
// and the message type ("next", "complete", "error").
func nextOf(c *apptest.Conn, field string) (grpEvent, string) {
	c.T.Helper()
	return apptest.Next[grpEvent](c, field)
}

// until reads events of field until one of kind arrives, and returns it
// with the kinds seen on the way.
func until(c *apptest.Conn, field, kind string) (grpEvent, []string) {
	c.T.Helper()
	var seen []string
	for {
		ev, typ := nextOf(c, field)
		require.Equal(c.T, "next", typ, "stream ended while waiting for %s after %v", kind, seen)
		if ev.Kind == kind {
			return ev, seen
		}
		seen = append(seen, ev.Kind)
	}
}

func TestGroupCreateAndCard(t *testing.T) {
	eachKit(t, newGrpKit, func(t *testing.T, k grpKit) {
		ann, bob, cat := k.trio()
		stranger := k.Register("stranger", nil)

		// Cat watches her notices: she is told she was added.
		cws := k.MustDial(cat.Token)
		cws.Subscribe("n", noticesSubscription, nil)
		k.WaitSubscriptions(1)

		// Without a name, the group is named after its first members.
		g := k.create(ann, map[string]any{"memberIds": []string{bob.ID, cat.ID, bob.ID, ann.ID}})
		require.Equal(t, "Ann, Bob, Cat", g.Name)
		require.Equal(t, 3, g.MemberCount)
		require.Equal(t, "approval", g.JoinMode)
		require.Equal(t, ann.ID, g.Owner.ID)
		require.Equal(t, []string{"", "", ""}, g.AvatarSources)
		ev := nextNotice(cws)
		require.Equal(t, "group_invited", ev.Node.Type)
		require.Equal(t, "Ann, Bob, Cat", ev.Node.Postscript)

		// A group created by name alone, with an announcement.
		solo := k.create(bob, map[string]any{"name": "  handsome ", "notice": "line one\nline two", "joinMode": "open"})
		require.Equal(t, "handsome", solo.Name)
		require.Equal(t, "line one\nline two", solo.Notice)
		require.Equal(t, 1, solo.MemberCount)

		// A long default name is cut to 64 characters.
		var many []account
		var ids []string
		for i := 0; i < 6; i++ {
			u := k.Register(fmt.Sprintf("longname%d", i), map[string]any{"nickname": strings.Repeat(string(rune('a'+i)), 20)})
			k.befriend(ann, u)
			many = append(many, u)
			ids = append(ids, u.ID)
		}
		long := k.create(ann, map[string]any{"memberIds": ids})
		require.Equal(t, 64, len([]rune(long.Name)))
		require.True(t, strings.HasPrefix(long.Name, "Ann, aaaaaaaaaaaaaaaaaaaa, bbbb"))
		require.True(t, strings.HasSuffix(long.Name, "…"))
		require.Equal(t, 7, long.MemberCount)

		// The card is public: owner, creation time, name, members.
		card := k.card("", g.ID)
		require.NotNil(t, card)
		require.Equal(t, "Ann, Bob, Cat", card.Name)
		require.Equal(t, "ann", card.Owner.Username)
		require.WithinDuration(t, time.Now(), card.CreatedAt, time.Minute)
		require.Equal(t, 3, card.Members.TotalCount)
		require.Equal(t, map[string]string{"ann": "owner", "bob": "member", "cat": "member"}, card.roles())
		require.Equal(t, "Bob", card.Members.Edges[1].Node.DisplayName)
		require.Nil(t, k.card("", "999999"))

		// The creator and members share the conversation; it opens with a
		// system message.
		require.Equal(t, []string{"Ann created the group with Bob, Cat"}, k.texts(cat, g.ConversationID))
		r := k.Do(stranger.Token, `query($c: ID!) { messages(conversationId: $c, last: 5) { edges { node { id } } } }`, map[string]any{"c": g.ConversationID})
		require.Equal(t, "NOT_FOUND", r.Code())

		// The detail shows the first 15 members: owner, managers, then by joining.
		var detail struct {
			Group struct {
				TopMembers []struct {
					Role string
					User struct{ Username string }
				}
				IsManager bool
				AnnIs     bool `json:"annIs"`
			}
		}
		k.OK("", `query($id: ID!, $u: ID!, $o: ID!) { group(id: $id) { topMembers { role user { username } } isManager(userId: $u) annIs: isManager(userId: $o) } }`,
			map[string]any{"id": long.ID, "u": many[0].ID, "o": ann.ID}, &detail)
		require.Len(t, detail.Group.TopMembers, 7)
		require.Equal(t, "owner", detail.Group.TopMembers[0].Role)
		require.False(t, detail.Group.IsManager)
		require.True(t, detail.Group.AnnIs)

		// Input errors and refusals, each with its reason.
		png := k.upload(ann.Token, "avatar", "a.png", filestest.PNG(8, 8))
		image := k.upload(ann.Token, "image", "i.png", filestest.PNG(9, 9))
		bobAvatar := k.upload(bob.Token, "avatar", "b.png", filestest.PNG(10, 10))
		const create = `mutation($in: CreateGroupInput!) { createGroup(input: $in) { id avatar } }`
		k.refuse(t, create, []refusal{
			{"name too long", ann, input(map[string]any{"name": strings.Repeat("x", 65)}), "BAD_USER_INPUT", "TOO_LONG", "input.name"},
			{"name with control characters", ann, input(map[string]any{"name": "a\x07b"}), "BAD_USER_INPUT", "INVALID", "input.name"},
			{"notice too long", ann, input(map[string]any{"notice": strings.Repeat("x", 1025)}), "BAD_USER_INPUT", "TOO_LONG", "input.notice"},
			{"unknown member", ann, input(map[string]any{"memberIds": []string{bob.ID, "4294967999"}}), "NOT_FOUND", "NOT_FOUND", "input.memberIds.1"},
			{"not a friend", ann, input(map[string]any{"memberIds": []string{stranger.ID}}), "FORBIDDEN", "NOT_FRIENDS", "input.memberIds.0"},
			{"malformed id", ann, input(map[string]any{"memberIds": []string{"x"}}), "BAD_USER_INPUT", "INVALID_ID", ""},
			{"image as avatar", ann, input(map[string]any{"avatarFileId": image.ID}), "BAD_USER_INPUT", "FILE_INVALID", "input.avatarFileId"},
			{"someone else's avatar", ann, input(map[string]any{"avatarFileId": bobAvatar.ID}), "BAD_USER_INPUT", "FILE_INVALID", "input.avatarFileId"},
			{"too many members", ann, input(map[string]any{"memberIds": manyIDs(101)}), "BAD_USER_INPUT", "TOO_MANY_MEMBERS", "input.memberIds"},
			{"anonymous", account{}, input(map[string]any{"name": "x"}), "UNAUTHENTICATED", "SIGN_IN_REQUIRED", ""},
		})
		var withAvatar struct{ CreateGroup struct{ Avatar string } }
		k.OK(ann.Token, create, map[string]any{"in": map[string]any{"name": "pictured", "avatarFileId": png.ID}}, &withAvatar)
		require.Equal(t, png.URL, withAvatar.CreateGroup.Avatar)

		// The createGroup setting is enforced.
		root := k.newAdmin("root")
		k.settings(root, map[string]any{"createGroup": false})
		k.Fails(ann.Token, create, map[string]any{"in": map[string]any{"name": "off"}}, "FORBIDDEN", "FEATURE_DISABLED")
		k.settings(root, map[string]any{"createGroup": true})

		// My groups.
		var mine struct {
			MyGroups struct {
				Edges []struct{ Node struct{ Name string } }
			}
		}
		k.OK(bob.Token, `{ myGroups(first: 10) { edges { node { name } } } }`, nil, &mine)
		require.Len(t, mine.MyGroups.Edges, 2)
		require.Equal(t, "Ann, Bob, Cat", mine.MyGroups.Edges[0].Node.Name)
	})
}

// manyIDs returns n distinct well-formed user ids.
func manyIDs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprint(4294967296 + i + 1)
	}
	return out
}

// secretOf reads a group's join secret from the database.
func (k grpKit) secretOf(id string) string {
	k.T.Helper()
	n := intID(id)
	g, err := k.App.Client.Group.Get(viewer.SystemContext(context.Background()), n)
	require.NoError(k.T, err)
	return g.JoinSecret
}

// grpMembership is a member's role, as grpApprove and grpJoin answer it.
type grpMembership struct {
	Role string
	User struct{ Username string }
}

const (
	grpApply    = `mutation($g: ID!, $ps: String) { applyToGroup(groupId: $g, postscript: $ps) { joined group { memberCount } } }`
	grpApprove  = `mutation($g: ID!, $u: ID!) { approveGroupApplication(groupId: $g, userId: $u) { role user { username } } }`
	grpRefuse   = `mutation($g: ID!, $u: ID!) { refuseGroupApplication(groupId: $g, userId: $u) }`
	grpJoin     = `mutation($g: ID!, $t: String) { joinGroup(groupId: $g, token: $t) { role user { username } } }`
	grpInvite   = `mutation($g: ID!, $u: [ID!]!) { inviteToGroup(groupId: $g, userIds: $u) { memberCount } }`
	grpManager  = `mutation($g: ID!, $u: ID!, $m: Boolean!) { setGroupManager(groupId: $g, userId: $u, manager: $m) { role } }`
	grpMute     = `mutation($g: ID!, $u: ID!, $until: Time) { muteGroupMember(groupId: $g, userId: $u, until: $until) { mutedUntil muted } }`
	grpMuteAll  = `mutation($g: ID!, $m: Boolean!) { setGroupMuteAll(groupId: $g, muted: $m) { muteAll } }`
	grpRemove   = `mutation($g: ID!, $u: [ID!]!) { removeGroupMembers(groupId: $g, userIds: $u) { memberCount } }`
	grpLeave    = `mutation($g: ID!) { leaveGroup(groupId: $g) }`
	grpHandOver = `mutation($g: ID!, $u: ID!) { transferGroup(groupId: $g, userId: $u) { owner { username } } }`
	grpDissolve = `mutation($g: ID!) { dissolveGroup(id: $g) }`
	grpUpdate   = `mutation($g: ID!, $in: UpdateGroupInput!) { updateGroup(id: $g, input: $in) { name notice joinMode avatar } }`
)

// trio registers Ann, Bob and Cat, Ann's friends.
func (k grpKit) trio() (ann, bob, cat account) {
	k.T.Helper()
	p := k.people("Ann", "Bob", "Cat")
	return p[0], p[1], p[2]
}

// pair registers Ann and Bob, friends.
func (k grpKit) pair() (ann, bob account) {
	k.T.Helper()
	p := k.people("Ann", "Bob")
	return p[0], p[1]
}

// managedGroup registers Ann, Bob and Cat, Ann's friends, in an approval
// group of hers in which Bob is a manager.
func (k grpKit) managedGroup() (ann, bob, cat account, g groupView) {
	k.T.Helper()
	ann, bob, cat = k.trio()
	g = k.group(ann, "approval", bob, cat)
	k.OK(ann.Token, grpManager, groupVars(g, "u", bob.ID, "m", true), nil)
	return ann, bob, cat, g
}

// groupVars are the variables of an operation on group g ($g) and kv.
func groupVars(g groupView, kv ...any) map[string]any {
	return apptest.Vars(append([]any{"g", g.ID}, kv...)...)
}

// TestGroupApplyFlow: an application reaches the owner and every manager
// live; one of them approves or refuses, every copy is
// settled, and the applicant is told.
func TestGroupApplyFlow(t *testing.T) {
	eachKit(t, newGrpKit, func(t *testing.T, k grpKit) {
		ann, bob, cat, g := k.managedGroup()
		dan, eve := k.Register("dan", map[string]any{"nickname": "Dan"}), k.Register("eve", nil)

		aws, bws, dws := k.MustDial(ann.Token), k.MustDial(bob.Token), k.MustDial(dan.Token)
		aws.Subscribe("n", noticesSubscription, nil)
		bws.Subscribe("n", noticesSubscription, nil)
		dws.Subscribe("n", noticesSubscription, nil)
		k.WaitSubscriptions(3)

		// Joining directly needs approval; applying tells the owner and the
		// manager at once.
		k.Fails(dan.Token, grpJoin, groupVars(g), "FORBIDDEN", "APPROVAL_REQUIRED")
		var applied struct{ ApplyToGroup struct{ Joined bool } }
		k.OK(dan.Token, grpApply, groupVars(g, "ps", "let me in"), &applied)
		require.False(t, applied.ApplyToGroup.Joined)
		for _, ws := range []*apptest.Conn{aws, bws} {
			ev := nextNotice(ws)
			require.Equal(t, "NOTICE_CREATED", ev.Kind)
			require.Equal(t, "group_apply", ev.Node.Type)
			require.Equal(t, "let me in", ev.Node.Postscript)
			require.Equal(t, "not_operated", ev.Node.Operation)
		}
		// Applying again renews the same requests.
		k.OK(dan.Token, grpApply, groupVars(g, "ps", "please"), nil)
		require.Equal(t, "NOTICE_UPDATED", nextNotice(aws).Kind)
		require.Equal(t, "NOTICE_UPDATED", nextNotice(bws).Kind)

		// A plain member cannot answer; neither can anyone for someone who
		// did not apply.
		k.Fails(cat.Token, grpApprove, groupVars(g, "u", dan.ID), "FORBIDDEN", "NOT_GROUP_MANAGER")
		k.Fails(eve.Token, grpApprove, groupVars(g, "u", dan.ID), "FORBIDDEN", "NOT_GROUP_MEMBER")
		r := k.Fails(bob.Token, grpApprove, groupVars(g, "u", eve.ID), "NOT_FOUND", "NOT_FOUND")
		require.Equal(t, "userId", r.Ext("field"))

		// The manager approves: both copies are agreed, dan is told, and he
		// is in the group and its conversation.
		approved := apptest.Field[grpMembership](k.Server, bob.Token, grpApprove, groupVars(g, "u", dan.ID))
		require.Equal(t, "member", approved.Role)
		require.Equal(t, "dan", approved.User.Username)
		ev := nextNotice(bws)
		require.Equal(t, "agreed", ev.Node.Operation)
		ev = expectNotice(aws, "NOTICE_UPDATED", "agreed")
		ev = expectNotice(dws, "NOTICE_UPDATED", "agreed")
		require.Equal(t, "group_apply", ev.Node.Type)
		card := k.card(dan.Token, g.ID)
		require.Equal(t, 4, card.MemberCount)
		require.Equal(t, "member", card.roles()["dan"])
		require.Contains(t, k.texts(dan, g.ConversationID), "Dan joined the group, approved by Bob")
		k.Fails(ann.Token, grpApprove, groupVars(g, "u", dan.ID), "CONFLICT", "ALREADY_HANDLED")
		k.Fails(dan.Token, grpApply, groupVars(g), "CONFLICT", "ALREADY_MEMBER")

		// Refusal: eve applies, the owner refuses, eve stays out.
		ews := k.MustDial(eve.Token)
		ews.Subscribe("n", noticesSubscription, nil)
		k.WaitSubscriptions(4)
		k.OK(eve.Token, grpApply, groupVars(g), nil)
		nextNotice(aws)
		var refused struct{ RefuseGroupApplication bool }
		k.OK(ann.Token, grpRefuse, groupVars(g, "u", eve.ID), &refused)
		require.True(t, refused.RefuseGroupApplication)
		ev = nextNotice(ews)
		require.Equal(t, "refused", ev.Node.Operation)
		require.Equal(t, 4, k.card("", g.ID).MemberCount)
		k.Fails(bob.Token, grpRefuse, groupVars(g, "u", eve.ID), "CONFLICT", "ALREADY_HANDLED")

		// Input and other refusals of applying.
		r = k.Fails(eve.Token, grpApply, groupVars(g, "ps", strings.Repeat("x", 257)), "BAD_USER_INPUT", "TOO_LONG")
		require.Equal(t, "postscript", r.Ext("field"))
		k.Fails(eve.Token, grpApply, map[string]any{"g": "999999"}, "NOT_FOUND", "NOT_FOUND")
		k.Fails("", grpApply, groupVars(g), "UNAUTHENTICATED", "SIGN_IN_REQUIRED")
		closed := k.group(ann, "invite_only")
		k.Fails(eve.Token, grpApply, groupVars(closed), "FORBIDDEN", "INVITE_ONLY")
		k.Fails(eve.Token, grpJoin, groupVars(closed), "FORBIDDEN", "INVITE_ONLY")

		// An open group: applying joins at once.
		open := k.group(ann, "open")
		var joined struct {
			ApplyToGroup struct {
				Joined bool
				Group  struct{ MemberCount int }
			}
		}
		k.OK(eve.Token, grpApply, groupVars(open), &joined)
		require.True(t, joined.ApplyToGroup.Joined)
		require.Equal(t, 2, joined.ApplyToGroup.Group.MemberCount)
		k.Fails(eve.Token, grpJoin, groupVars(open), "CONFLICT", "ALREADY_MEMBER")
	})
}

// TestGroupInvite: members invite friends; invite-only groups let
// only managers invite; invitees are told.
func TestGroupInvite(t *testing.T) {
	eachKit(t, newGrpKit, func(t *testing.T, k grpKit) {
		p := k.people("Ann", "Bob", "Cat", "Dan")
		ann, bob, cat, dan := p[0], p[1], p[2], p[3]
		k.befriend(bob, dan)
		stranger := k.Register("stranger", nil)
		g := k.group(ann, "approval", bob)

		// dan applied first; bob's invitation answers his application.
		k.OK(dan.Token, grpApply, groupVars(g), nil)
		dws := k.MustDial(dan.Token)
		dws.Subscribe("n", noticesSubscription, nil)
		k.WaitSubscriptions(1)
		var out struct{ InviteToGroup struct{ MemberCount int } }
		k.OK(bob.Token, grpInvite, groupVars(g, "u", []string{dan.ID}), &out)
		require.Equal(t, 3, out.InviteToGroup.MemberCount)
		kinds := map[string]string{}
		for i := 0; i < 2; i++ {
			ev := nextNotice(dws)
			kinds[ev.Node.Type] = ev.Node.Operation
		}
		require.Equal(t, map[string]string{"group_invited": "none", "group_apply": "agreed"}, kinds)
		require.Contains(t, k.texts(dan, g.ConversationID), "Bob invited Dan")

		k.refuse(t, grpInvite, []refusal{
			{"already a member", ann, groupVars(g, "u", []string{bob.ID}), "CONFLICT", "ALREADY_MEMBER", "userIds.0"},
			{"not a friend", ann, groupVars(g, "u", []string{stranger.ID}), "FORBIDDEN", "NOT_FRIENDS", "userIds.0"},
			{"nobody", ann, groupVars(g, "u", []string{}), "BAD_USER_INPUT", "REQUIRED", "userIds"},
			{"only myself", ann, groupVars(g, "u", []string{ann.ID}), "BAD_USER_INPUT", "REQUIRED", "userIds"},
			{"too many", ann, groupVars(g, "u", manyIDs(101)), "BAD_USER_INPUT", "TOO_MANY_MEMBERS", "userIds"},
			{"unknown user", ann, groupVars(g, "u", []string{"4294967999"}), "NOT_FOUND", "NOT_FOUND", "userIds.0"},
			{"outsider", stranger, groupVars(g, "u", []string{ann.ID}), "FORBIDDEN", "NOT_GROUP_MEMBER", ""},
		})
		k.Fails(ann.Token, grpInvite, map[string]any{"g": "999999", "u": []string{cat.ID}}, "NOT_FOUND", "NOT_FOUND")

		// In an invite-only group plain members do not invite; managers do.
		closed := k.group(ann, "invite_only", bob)
		k.Fails(bob.Token, grpInvite, groupVars(closed, "u", []string{dan.ID}), "FORBIDDEN", "NOT_GROUP_MANAGER")
		k.OK(ann.Token, grpManager, groupVars(closed, "u", bob.ID, "m", true), nil)
		k.OK(bob.Token, grpInvite, groupVars(closed, "u", []string{dan.ID}), nil)

		// A full group takes nobody more.
		id := intID(g.ID)
		require.NoError(t, k.App.Client.Group.UpdateOneID(id).SetMemberCount(group.MembersMax).Exec(viewer.SystemContext(context.Background())))
		k.Fails(ann.Token, grpInvite, groupVars(g, "u", []string{cat.ID}), "FORBIDDEN", "GROUP_FULL")
	})
}

// TestGroupJoinLinks: a member's join link admits anyone while it
// is fresh and its issuer may still invite; the qrGroup setting gates it.
func TestGroupJoinLinks(t *testing.T) {
	eachKit(t, newGrpKit, func(t *testing.T, k grpKit) {
		ann, bob, cat := k.trio()
		dan, eve, fay := k.Register("dan", nil), k.Register("eve", nil), k.Register("fay", nil)
		g := k.group(ann, "approval", bob, cat)

		type link struct {
			URL, Token, QRURL string
			ExpiresAt         time.Time
		}
		linkOf := func(a account, id string) *link {
			var out struct{ Group struct{ JoinLink *link } }
			k.OK(a.Token, `query($id: ID!) { group(id: $id) { joinLink { url token qrUrl expiresAt } } }`, map[string]any{"id": id}, &out)
			return out.Group.JoinLink
		}
		l := linkOf(bob, g.ID)
		require.NotNil(t, l)
		require.Equal(t, "parley://group/"+g.ID+"?t="+l.Token, l.URL)
		require.True(t, strings.HasPrefix(l.QRURL, "/qr?"))
		require.WithinDuration(t, time.Now().Add(7*24*time.Hour), l.ExpiresAt, 2*time.Hour)
		res, body := k.Get(l.QRURL, "", nil)
		require.Equal(t, 200, res.StatusCode)
		require.Equal(t, "image/png", res.Header.Get("Content-Type"))
		require.NotEmpty(t, body)
		// Outsiders and anonymous readers get no link.
		require.Nil(t, linkOf(dan, g.ID))
		require.Nil(t, linkOf(account{}, g.ID))

		// The link admits dan into an approval group.
		joined := apptest.Field[grpMembership](k.Server, dan.Token, grpJoin, groupVars(g, "t", l.Token))
		require.Equal(t, "member", joined.Role)
		require.Contains(t, k.texts(dan, g.ConversationID), "dan joined the group through a link shared by Bob")
		require.Equal(t, 4, k.card("", g.ID).MemberCount)
		k.Fails(dan.Token, grpJoin, groupVars(g, "t", l.Token), "CONFLICT", "ALREADY_MEMBER")

		// Bad, foreign and expired tokens.
		other := k.group(ann, "approval")
		expired := rule.GroupJoinToken(k.secretOf(g.ID), intID(g.ID), intID(bob.ID), time.Now().Add(-time.Minute))
		forged := rule.GroupJoinToken("not the secret", intID(g.ID), intID(bob.ID), time.Now().Add(time.Hour))
		for _, c := range []struct {
			name, group, token, reason string
		}{
			{"garbage", g.ID, "garbage", "JOIN_LINK_INVALID"},
			{"tampered", g.ID, l.Token[:len(l.Token)-2] + "xx", "JOIN_LINK_INVALID"},
			{"another group's", other.ID, l.Token, "JOIN_LINK_INVALID"},
			{"forged", g.ID, forged, "JOIN_LINK_INVALID"},
			{"expired", g.ID, expired, "JOIN_LINK_EXPIRED"},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := k.Fails(eve.Token, grpJoin, map[string]any{"g": c.group, "t": c.token}, "BAD_USER_INPUT", c.reason)
				require.Equal(t, "token", r.Ext("field"))
			})
		}

		// Once its issuer leaves, his link stops working.
		k.OK(bob.Token, grpLeave, groupVars(g), nil)
		k.Fails(eve.Token, grpJoin, groupVars(g, "t", l.Token), "FORBIDDEN", "JOIN_LINK_REVOKED")

		// Invite-only: plain members have no link; a manager's works until
		// he is a plain member again.
		closed := k.group(ann, "invite_only", cat)
		require.Nil(t, linkOf(cat, closed.ID))
		k.OK(ann.Token, grpManager, groupVars(closed, "u", cat.ID, "m", true), nil)
		cl := linkOf(cat, closed.ID)
		require.NotNil(t, cl)
		k.OK(eve.Token, grpJoin, groupVars(closed, "t", cl.Token), nil)
		k.OK(ann.Token, grpManager, groupVars(closed, "u", cat.ID, "m", false), nil)
		k.Fails(fay.Token, grpJoin, groupVars(closed, "t", cl.Token), "FORBIDDEN", "JOIN_LINK_REVOKED")

		// The policy checks the link itself: without the domain's checks, a
		// self-join into a closed group with a bad token is still refused.
		// (Covered by rule.IsGroupMemberOrJoining; here through the API the
		// domain answers first.)

		// The qrGroup setting turns links off.
		root := k.newAdmin("root")
		al := linkOf(ann, g.ID)
		k.settings(root, map[string]any{"qrGroup": false})
		require.Nil(t, linkOf(ann, g.ID))
		k.Fails(fay.Token, grpJoin, groupVars(g, "t", al.Token), "FORBIDDEN", "FEATURE_DISABLED")
		k.settings(root, map[string]any{"qrGroup": true})
		k.OK(fay.Token, grpJoin, groupVars(g, "t", al.Token), nil)

		// An open group needs no link.
		open := k.group(ann, "open")
		k.OK(dan.Token, grpJoin, groupVars(open), nil)
		k.Fails("", grpJoin, groupVars(open), "UNAUTHENTICATED", "SIGN_IN_REQUIRED")
		k.Fails(dan.Token, grpJoin, map[string]any{"g": "999999"}, "NOT_FOUND", "NOT_FOUND")
	})
}

// TestGroupUpdate: the owner and managers rename a group and set its
// announcement, avatar and join mode; members set their own remark,
// which only they see, and alias.
func TestGroupUpdate(t *testing.T) {
	eachKit(t, newGrpKit, func(t *testing.T, k grpKit) {
		ann, bob, cat, g := k.managedGroup()
		outsider := k.Register("outsider", nil)

		cws := k.MustDial(cat.Token)
		cws.Subscribe("c", `subscription($c: ID!) { conversationEvents(conversationId: $c) { `+grpEventFields+` } }`, map[string]any{"c": g.ConversationID})
		k.WaitSubscriptions(1)

		var out struct {
			UpdateGroup struct{ Name, Notice, JoinMode, Avatar string }
		}
		k.OK(bob.Token, grpUpdate, groupVars(g, "in", map[string]any{"name": "Handsome", "notice": "Be kind", "joinMode": "open"}), &out)
		require.Equal(t, "Handsome", out.UpdateGroup.Name)
		require.Equal(t, "Be kind", out.UpdateGroup.Notice)
		require.Equal(t, "open", out.UpdateGroup.JoinMode)
		ev, _ := until(cws, "conversationEvents", "GROUP_UPDATED")
		require.Equal(t, "Handsome", ev.Node.Name)
		require.Equal(t, []string{"Ann created the group with Bob, Cat", "Bob renamed the group to “Handsome”", "Bob updated the announcement:\nBe kind"}, k.texts(cat, g.ConversationID))

		avatar := k.upload(ann.Token, "avatar", "g.png", filestest.PNG(12, 12))
		k.OK(ann.Token, grpUpdate, groupVars(g, "in", map[string]any{"avatarFileId": avatar.ID}), &out)
		require.Equal(t, avatar.URL, out.UpdateGroup.Avatar)
		k.OK(ann.Token, grpUpdate, groupVars(g, "in", map[string]any{"clearAvatar": true}), &out)
		require.Equal(t, "", out.UpdateGroup.Avatar)

		k.refuse(t, grpUpdate, []refusal{
			{"plain member", cat, groupVars(g, "in", map[string]any{"name": "x"}), "FORBIDDEN", "NOT_GROUP_MANAGER", ""},
			{"outsider", outsider, groupVars(g, "in", map[string]any{"name": "x"}), "FORBIDDEN", "NOT_GROUP_MEMBER", ""},
			{"anonymous", account{}, groupVars(g, "in", map[string]any{"name": "x"}), "UNAUTHENTICATED", "SIGN_IN_REQUIRED", ""},
			{"blank name", ann, groupVars(g, "in", map[string]any{"name": "   "}), "BAD_USER_INPUT", "REQUIRED", "input.name"},
			{"long name", ann, groupVars(g, "in", map[string]any{"name": strings.Repeat("群", 65)}), "BAD_USER_INPUT", "TOO_LONG", "input.name"},
			{"long notice", ann, groupVars(g, "in", map[string]any{"notice": strings.Repeat("x", 1025)}), "BAD_USER_INPUT", "TOO_LONG", "input.notice"},
			{"control characters", ann, groupVars(g, "in", map[string]any{"notice": "a\x00b"}), "BAD_USER_INPUT", "INVALID", "input.notice"},
			{"bad join mode", ann, groupVars(g, "in", map[string]any{"joinMode": "closed"}), "GRAPHQL_VALIDATION_FAILED", "GRAPHQL_VALIDATION_FAILED", ""},
			{"avatar and clear", ann, groupVars(g, "in", map[string]any{"avatarFileId": avatar.ID, "clearAvatar": true}), "BAD_USER_INPUT", "INVALID", "input.clearAvatar"},
			{"bad avatar", ann, groupVars(g, "in", map[string]any{"avatarFileId": "4294967999"}), "BAD_USER_INPUT", "FILE_INVALID", "input.avatarFileId"},
		})
		k.Fails(ann.Token, grpUpdate, map[string]any{"g": "999999", "in": map[string]any{"name": "x"}}, "NOT_FOUND", "NOT_FOUND")
		// A 64-character Chinese name fits.
		k.OK(ann.Token, grpUpdate, groupVars(g, "in", map[string]any{"name": strings.Repeat("群", 64)}), nil)

		// My remark is mine alone; my alias is what the group shows for me.
		const mine = `mutation($g: ID!, $in: GroupMembershipInput!) { updateMyGroupMembership(groupId: $g, input: $in) { remark alias displayName } }`
		var m struct {
			UpdateMyGroupMembership struct {
				Remark             *string
				Alias, DisplayName string
			}
		}
		k.OK(cat.Token, mine, groupVars(g, "in", map[string]any{"remark": "work chat", "alias": "Kitty"}), &m)
		require.Equal(t, "work chat", *m.UpdateMyGroupMembership.Remark)
		require.Equal(t, "Kitty", m.UpdateMyGroupMembership.DisplayName)
		for _, e := range k.card(bob.Token, g.ID).Members.Edges {
			if e.Node.User.Username == "cat" {
				require.Nil(t, e.Node.Remark, "bob must not see cat's remark")
				require.Equal(t, "Kitty", e.Node.DisplayName)
			}
		}
		var myself struct {
			Group struct{ MyMembership struct{ Remark *string } }
		}
		k.OK(cat.Token, `query($id: ID!) { group(id: $id) { myMembership { remark } } }`, map[string]any{"id": g.ID}, &myself)
		require.Equal(t, "work chat", *myself.Group.MyMembership.Remark)
		r := k.Fails(cat.Token, mine, groupVars(g, "in", map[string]any{"remark": strings.Repeat("x", 65)}), "BAD_USER_INPUT", "TOO_LONG")
		require.Equal(t, "input.remark", r.Ext("field"))
		r = k.Fails(cat.Token, mine, groupVars(g, "in", map[string]any{"alias": strings.Repeat("x", 65)}), "BAD_USER_INPUT", "TOO_LONG")
		require.Equal(t, "input.alias", r.Ext("field"))
		k.Fails(outsider.Token, mine, groupVars(g, "in", map[string]any{"remark": "x"}), "FORBIDDEN", "NOT_GROUP_MEMBER")
	})
}

// TestGroupRoles: who may set managers, mute, remove, leave and hand the
// group over, each refusal with its
// own reason.
func TestGroupRoles(t *testing.T) {
	eachKit(t, newGrpKit, func(t *testing.T, k grpKit) {
		p := k.people("Ann", "Bob", "Cat", "Dan", "Eve")
		ann, bob, cat, dan, eve := p[0], p[1], p[2], p[3], p[4]
		outsider := k.Register("outsider", nil)
		g := k.group(ann, "approval", bob, cat, dan, eve)
		k.OK(ann.Token, grpManager, groupVars(g, "u", bob.ID, "m", true), nil)
		k.OK(ann.Token, grpManager, groupVars(g, "u", cat.ID, "m", true), nil)

		var is struct{ Group struct{ Bob, Dan bool } }
		k.OK("", `query($id: ID!, $b: ID!, $d: ID!) { group(id: $id) { bob: isManager(userId: $b) dan: isManager(userId: $d) } }`,
			map[string]any{"id": g.ID, "b": bob.ID, "d": dan.ID}, &is)
		require.True(t, is.Group.Bob)
		require.False(t, is.Group.Dan)

		soon := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		tooLate := time.Now().Add(31 * 24 * time.Hour).UTC().Format(time.RFC3339)
		for _, c := range []struct {
			name         string
			who          account
			query        string
			vars         map[string]any
			code, reason string
			field        string
		}{
			{"manager sets managers", bob, grpManager, groupVars(g, "u", dan.ID, "m", true), "FORBIDDEN", "NOT_GROUP_OWNER", ""},
			{"member sets managers", dan, grpManager, groupVars(g, "u", eve.ID, "m", true), "FORBIDDEN", "NOT_GROUP_OWNER", ""},
			{"owner's role", ann, grpManager, groupVars(g, "u", ann.ID, "m", false), "FORBIDDEN", "OWNER_ROLE_FIXED", ""},
			{"manager of a stranger", ann, grpManager, groupVars(g, "u", outsider.ID, "m", true), "BAD_USER_INPUT", "USER_NOT_MEMBER", "userId"},
			{"outsider sets managers", outsider, grpManager, groupVars(g, "u", dan.ID, "m", true), "FORBIDDEN", "NOT_GROUP_MEMBER", ""},

			{"member mutes", dan, grpMute, groupVars(g, "u", eve.ID, "until", soon), "FORBIDDEN", "NOT_GROUP_MANAGER", ""},
			{"manager mutes the owner", bob, grpMute, groupVars(g, "u", ann.ID, "until", soon), "FORBIDDEN", "CANNOT_MUTE_OWNER", ""},
			{"manager mutes a manager", bob, grpMute, groupVars(g, "u", cat.ID, "until", soon), "FORBIDDEN", "CANNOT_MUTE_MANAGER", ""},
			{"manager mutes himself", bob, grpMute, groupVars(g, "u", bob.ID, "until", soon), "FORBIDDEN", "CANNOT_MUTE_SELF", ""},
			{"owner mutes himself", ann, grpMute, groupVars(g, "u", ann.ID, "until", soon), "FORBIDDEN", "CANNOT_MUTE_SELF", ""},
			{"mute too long", bob, grpMute, groupVars(g, "u", dan.ID, "until", tooLate), "BAD_USER_INPUT", "MUTE_TOO_LONG", "until"},
			{"mute a stranger", bob, grpMute, groupVars(g, "u", outsider.ID, "until", soon), "BAD_USER_INPUT", "USER_NOT_MEMBER", "userId"},
			{"member mutes all", dan, grpMuteAll, groupVars(g, "m", true), "FORBIDDEN", "NOT_GROUP_MANAGER", ""},

			{"member removes", dan, grpRemove, groupVars(g, "u", []string{eve.ID}), "FORBIDDEN", "NOT_GROUP_MANAGER", ""},
			{"manager removes the owner", bob, grpRemove, groupVars(g, "u", []string{ann.ID}), "FORBIDDEN", "CANNOT_KICK_OWNER", ""},
			{"manager removes a manager", bob, grpRemove, groupVars(g, "u", []string{dan.ID, cat.ID}), "FORBIDDEN", "CANNOT_KICK_MANAGER", ""},
			{"owner removes himself", ann, grpRemove, groupVars(g, "u", []string{ann.ID}), "FORBIDDEN", "CANNOT_KICK_SELF", ""},
			{"manager removes himself", bob, grpRemove, groupVars(g, "u", []string{bob.ID}), "FORBIDDEN", "CANNOT_KICK_SELF", ""},
			{"remove a stranger", ann, grpRemove, groupVars(g, "u", []string{dan.ID, outsider.ID}), "BAD_USER_INPUT", "USER_NOT_MEMBER", "userIds.1"},
			{"remove nobody", ann, grpRemove, groupVars(g, "u", []string{}), "BAD_USER_INPUT", "REQUIRED", "userIds"},
			{"outsider removes", outsider, grpRemove, groupVars(g, "u", []string{dan.ID}), "FORBIDDEN", "NOT_GROUP_MEMBER", ""},
			{"remove from nowhere", ann, grpRemove, map[string]any{"g": "999999", "u": []string{dan.ID}}, "NOT_FOUND", "NOT_FOUND", ""},

			{"owner leaves", ann, grpLeave, groupVars(g), "FORBIDDEN", "OWNER_CANNOT_LEAVE", ""},
			{"outsider leaves", outsider, grpLeave, groupVars(g), "FORBIDDEN", "NOT_GROUP_MEMBER", ""},
			{"manager hands over", bob, grpHandOver, groupVars(g, "u", dan.ID), "FORBIDDEN", "NOT_GROUP_OWNER", ""},
			{"hand over to myself", ann, grpHandOver, groupVars(g, "u", ann.ID), "BAD_USER_INPUT", "CANNOT_TRANSFER_TO_SELF", "userId"},
			{"hand over to a stranger", ann, grpHandOver, groupVars(g, "u", outsider.ID), "BAD_USER_INPUT", "USER_NOT_MEMBER", "userId"},
			{"manager dissolves", bob, grpDissolve, groupVars(g), "FORBIDDEN", "NOT_GROUP_OWNER", ""},
			{"member dissolves", dan, grpDissolve, groupVars(g), "FORBIDDEN", "NOT_GROUP_OWNER", ""},
			{"anonymous dissolves", account{}, grpDissolve, groupVars(g), "UNAUTHENTICATED", "SIGN_IN_REQUIRED", ""},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := k.Fails(c.who.Token, c.query, c.vars, c.code, c.reason)
				require.Equal(t, c.field, r.Ext("field"))
			})
		}
		// Nothing changed.
		card := k.card("", g.ID)
		require.Equal(t, 5, card.MemberCount)
		require.Equal(t, map[string]string{"ann": "owner", "bob": "manager", "cat": "manager", "dan": "member", "eve": "member"}, card.roles())

		// What they may do: a manager removes a plain member, the owner a
		// manager; the owner mutes a manager.
		var removed struct{ RemoveGroupMembers struct{ MemberCount int } }
		k.OK(bob.Token, grpRemove, groupVars(g, "u", []string{eve.ID}), &removed)
		require.Equal(t, 4, removed.RemoveGroupMembers.MemberCount)
		k.OK(ann.Token, grpMute, groupVars(g, "u", cat.ID, "until", soon), nil)
		k.OK(ann.Token, grpRemove, groupVars(g, "u", []string{cat.ID}), &removed)
		require.Equal(t, 3, removed.RemoveGroupMembers.MemberCount)
		texts := k.texts(ann, g.ConversationID)
		require.Contains(t, texts, "Bob removed Eve")
		require.Contains(t, texts, "Ann removed Cat")

		// dan leaves; the owner hands over to bob, who is then the owner;
		// ann, a plain member now, may leave.
		k.OK(dan.Token, grpLeave, groupVars(g), nil)
		require.Equal(t, 2, k.card("", g.ID).MemberCount)
		require.Contains(t, k.texts(ann, g.ConversationID), "Dan left the group")
		var handed struct {
			TransferGroup struct{ Owner struct{ Username string } }
		}
		k.OK(ann.Token, grpHandOver, groupVars(g, "u", bob.ID), &handed)
		require.Equal(t, "bob", handed.TransferGroup.Owner.Username)
		require.Equal(t, map[string]string{"ann": "member", "bob": "owner"}, k.card("", g.ID).roles())
		k.Fails(bob.Token, grpLeave, groupVars(g), "FORBIDDEN", "OWNER_CANNOT_LEAVE")
		k.Fails(ann.Token, grpManager, groupVars(g, "u", bob.ID, "m", false), "FORBIDDEN", "NOT_GROUP_OWNER")
		k.OK(ann.Token, grpLeave, groupVars(g), nil)
		card = k.card("", g.ID)
		require.Equal(t, 1, card.MemberCount)
		require.Equal(t, 1, card.Members.TotalCount)
		k.Fails(ann.Token, grpLeave, groupVars(g), "FORBIDDEN", "NOT_GROUP_MEMBER")
	})
}

// TestGroupMutes: a muted member cannot post until the time passes or
// he is unmuted (a mute until a past time, or none); mute-all silences
// everyone but the owner and managers.
func TestGroupMutes(t *testing.T) {
	eachKit(t, newGrpKit, func(t *testing.T, k grpKit) {
		ann, bob, cat, g := k.managedGroup()
		require.Empty(t, k.sendGroup(cat, g.ID, "hello").Errors)

		until := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
		var muted struct {
			MuteGroupMember struct {
				MutedUntil *time.Time
				Muted      bool
			}
		}
		k.OK(bob.Token, grpMute, groupVars(g, "u", cat.ID, "until", until.Format(time.RFC3339)), &muted)
		require.True(t, muted.MuteGroupMember.Muted)
		require.True(t, until.Equal(*muted.MuteGroupMember.MutedUntil))
		r := k.sendGroup(cat, g.ID, "can I?")
		require.Equal(t, "FORBIDDEN", r.Code())
		require.Equal(t, "MUTED", r.Reason())

		// A past time unmutes; so does no time at all.
		k.OK(bob.Token, grpMute, groupVars(g, "u", cat.ID, "until", "1970-01-01T00:00:00Z"), &muted)
		require.Nil(t, muted.MuteGroupMember.MutedUntil)
		require.False(t, muted.MuteGroupMember.Muted)
		require.Empty(t, k.sendGroup(cat, g.ID, "free again").Errors)
		k.OK(bob.Token, grpMute, groupVars(g, "u", cat.ID, "until", until.Format(time.RFC3339)), nil)
		k.OK(bob.Token, grpMute, groupVars(g, "u", cat.ID), &muted)
		require.Nil(t, muted.MuteGroupMember.MutedUntil)

		// Mute all: plain members are silenced, the manager and the owner
		// are not.
		var all struct{ SetGroupMuteAll struct{ MuteAll bool } }
		k.OK(bob.Token, grpMuteAll, groupVars(g, "m", true), &all)
		require.True(t, all.SetGroupMuteAll.MuteAll)
		r = k.sendGroup(cat, g.ID, "anyone?")
		require.Equal(t, "FORBIDDEN", r.Code())
		require.Equal(t, "MUTED_ALL", r.Reason())
		require.Empty(t, k.sendGroup(bob, g.ID, "managers may").Errors)
		require.Empty(t, k.sendGroup(ann, g.ID, "owners may").Errors)
		for _, e := range k.card("", g.ID).Members.Edges {
			require.Equal(t, e.Node.Role == "member", e.Node.Muted, e.Node.User.Username)
		}
		k.OK(ann.Token, grpMuteAll, groupVars(g, "m", false), &all)
		require.False(t, all.SetGroupMuteAll.MuteAll)
		require.Empty(t, k.sendGroup(cat, g.ID, "thanks").Errors)
		texts := k.texts(cat, g.ConversationID)
		require.Contains(t, texts, "Bob muted everyone: only the owner and managers may post")
		require.Contains(t, texts, "Ann unmuted everyone")

		// An image to the group: members fetch it, others do not.
		img := k.upload(cat.Token, "image", "cat.png", filestest.PNG(20, 20))
		res := k.Do(cat.Token, `mutation($in: SendInput!) { send(input: $in) { id } }`, map[string]any{"in": map[string]any{
			"groupId": g.ID, "parts": []map[string]any{{"category": "image", "fileId": img.ID}},
		}})
		require.Empty(t, res.Errors)
		var hist struct {
			Messages struct {
				Edges []struct {
					Node struct {
						Sender struct{ Username string }
						Parts  []struct{ Category, URL, Name string }
					}
				}
			}
		}
		k.OK(ann.Token, `query($c: ID!) { messages(conversationId: $c, last: 1) { edges { node { sender { username } parts { category url name } } } } }`,
			map[string]any{"c": g.ConversationID}, &hist)
		part := hist.Messages.Edges[0].Node.Parts[0]
		require.Equal(t, "cat", hist.Messages.Edges[0].Node.Sender.Username)
		require.Equal(t, "image", part.Category)
		require.Equal(t, "cat.png", part.Name)
		got, _ := k.Get(part.URL, "", nil)
		require.Equal(t, 200, got.StatusCode)
		outsider := k.Register("outsider", nil)
		got, _ = k.Get(strings.Split(part.URL, "?")[0], outsider.Token, nil)
		require.Equal(t, 404, got.StatusCode)
	})
}

const grpConvEvents = `subscription($c: ID!) { conversationEvents(conversationId: $c) { ` + grpEventFields + ` } }`

// TestGroupKickStopsStreams: a removed member's conversationEvents ends at
// once with stream.closed FORBIDDEN, his events stream delivers the group's
// messages no more, and he is told by a group_kicked notice.
func TestGroupKickStopsStreams(t *testing.T) {
	eachKit(t, newGrpKit, func(t *testing.T, k grpKit) {
		ann, bob, cat := k.trio()
		g := k.group(ann, "approval", bob, cat)

		conv := k.MustDial(cat.Token)
		conv.Subscribe("c", grpConvEvents, map[string]any{"c": g.ConversationID})
		all := k.MustDial(cat.Token)
		all.Subscribe("e", `subscription { events { `+grpEventFields+` } }`, nil)
		k.WaitSubscriptions(2)

		require.Empty(t, k.sendGroup(bob, g.ID, "before").Errors)
		ev, _ := until(conv, "conversationEvents", "MESSAGE_CREATED")
		require.Equal(t, "before", ev.Node.Text)
		ev, _ = until(all, "events", "MESSAGE_CREATED")
		require.Equal(t, "before", ev.Node.Text)

		k.OK(ann.Token, grpRemove, groupVars(g, "u", []string{cat.ID}), nil)
		ev, typ := nextOf(conv, "conversationEvents")
		require.Equal(t, "next", typ)
		require.Equal(t, "STREAM_CLOSED", ev.Kind)
		require.Equal(t, "FORBIDDEN", *ev.Reason)
		_, typ = nextOf(conv, "conversationEvents")
		require.Equal(t, "complete", typ)

		// The events stream: the notice and the departure, then nothing of
		// the group. A direct message marks the end of what to read.
		require.Empty(t, k.sendGroup(bob, g.ID, "after").Errors)
		k.Send(ann, cat, "sentinel")
		var texts []string
		var kinds []string
		for {
			ev, typ := nextOf(all, "events")
			require.Equal(t, "next", typ)
			kinds = append(kinds, ev.Kind)
			if ev.Kind == "MESSAGE_CREATED" {
				texts = append(texts, ev.Node.Text)
				if ev.Node.Text == "sentinel" {
					break
				}
			}
			if ev.Kind == "NOTICE_CREATED" {
				require.Equal(t, "group_kicked", ev.Node.Type)
				require.Equal(t, "team", ev.Node.Postscript)
			}
		}
		require.Equal(t, []string{"sentinel"}, texts)
		require.Contains(t, kinds, "NOTICE_CREATED")
		require.Contains(t, kinds, "MEMBER_LEFT")

		// History and posting are closed to him; a new subscription is refused.
		r := k.Do(cat.Token, `query($c: ID!) { messages(conversationId: $c, last: 5) { edges { node { id } } } }`, map[string]any{"c": g.ConversationID})
		require.Equal(t, "NOT_FOUND", r.Code())
		r = k.sendGroup(cat, g.ID, "let me back")
		require.Equal(t, "FORBIDDEN", r.Code())
		require.Equal(t, "NOT_A_MEMBER", r.Reason())
		again := k.MustDial(cat.Token)
		again.Subscribe("c", grpConvEvents, map[string]any{"c": g.ConversationID})
		require.Equal(t, "NOT_FOUND", again.ErrorCode())
	})
}

// TestGroupRejoinKeepsStream: a member who leaves a group, or is removed,
// and is back before his events stream has handled his departure goes on
// receiving the group's messages, live and on resume. Each departure and
// return is one request, so the hub dispatches the member.left and the
// member.joined together, before the stream reads either: the departure
// must not undo the return.
func TestGroupRejoinKeepsStream(t *testing.T) {
	eachKit(t, newGrpKit, func(t *testing.T, k grpKit) {
		ann, bob, cat := k.trio()
		open := k.group(ann, "open", bob)
		closed := k.group(ann, "approval", cat)
		bs, cs := k.MustDial(bob.Token), k.MustDial(cat.Token)
		bs.Subscribe("e", apptest.EventsSubscription, nil)
		cs.Subscribe("e", apptest.EventsSubscription, nil)
		k.WaitSubscriptions(2)

		// texts reads c's events up to the direct message sentinel and
		// returns the texts before it, and the cursor of the first event.
		texts := func(c *apptest.Conn, sentinel string) (string, []string) {
			t.Helper()
			var first string
			var out []string
			for {
				ev, typ := c.NextEvent()
				require.Equal(t, "next", typ, "stream ended before %q, after %v", sentinel, out)
				require.NotEqual(t, "STREAM_CLOSED", ev.Kind)
				if first == "" {
					first = ev.Cursor
				}
				if ev.Kind != "MESSAGE_CREATED" || ev.Node == nil {
					continue
				}
				if ev.Node.Text == sentinel {
					return first, out
				}
				out = append(out, ev.Node.Text)
			}
		}
		require.Empty(t, k.sendGroup(ann, open.ID, "hello").Errors)
		require.Empty(t, k.sendGroup(ann, closed.ID, "hello").Errors)
		k.Send(ann, bob, "s1")
		k.Send(ann, cat, "s1")
		bobFrom, got := texts(bs, "s1")
		require.Equal(t, []string{"hello"}, got)
		catFrom, got := texts(cs, "s1")
		require.Equal(t, []string{"hello"}, got)

		// Bob leaves the open group and joins it again; Cat is removed
		// from the other one and invited back.
		k.OK(bob.Token, `mutation($g: ID!) { leaveGroup(groupId: $g) joinGroup(groupId: $g) { role } }`, groupVars(open), nil)
		k.OK(ann.Token, `mutation($g: ID!, $u: [ID!]!) {
			removeGroupMembers(groupId: $g, userIds: $u) { memberCount }
			inviteToGroup(groupId: $g, userIds: $u) { memberCount }
		}`, groupVars(closed, "u", []string{cat.ID}), nil)
		require.Empty(t, k.sendGroup(ann, open.ID, "still here").Errors)
		require.Empty(t, k.sendGroup(ann, closed.ID, "welcome back").Errors)
		k.Send(ann, bob, "s2")
		k.Send(ann, cat, "s2")
		_, got = texts(bs, "s2")
		require.Contains(t, got, "still here", "live, after leaving and joining again")
		_, got = texts(cs, "s2")
		require.Contains(t, got, "welcome back", "live, after being removed and invited again")

		// Resuming from before it all replays the same, then goes live
		// with the group.
		for _, r := range []struct {
			who      account
			from     string
			g        groupView
			expected []string
		}{{bob, bobFrom, open, []string{"still here"}}, {cat, catFrom, closed, []string{"welcome back"}}} {
			c := k.MustDial(r.who.Token)
			c.Subscribe("e", apptest.EventsSubscription, map[string]any{"after": r.from})
			_, got = texts(c, "s2")
			require.Contains(t, got, r.expected[0], "replayed")
			require.Empty(t, k.sendGroup(ann, r.g.ID, "live again").Errors)
			k.Send(ann, r.who, "s3")
			_, got = texts(c, "s3")
			require.Equal(t, []string{"live again"}, got, "live after the replay")
		}
	})
}

// TestGroupDissolve: only the owner dissolves; members get a
// group_dissolved notice and a group.deleted event; the group, its
// conversation and its messages are gone.
func TestGroupDissolve(t *testing.T) {
	eachKit(t, newGrpKit, func(t *testing.T, k grpKit) {
		ann, bob, cat := k.trio()
		dan := k.Register("dan", nil)
		g := k.group(ann, "approval", bob, cat)
		require.Empty(t, k.sendGroup(bob, g.ID, "hi all").Errors)
		k.OK(dan.Token, grpApply, groupVars(g), nil)

		bws := k.MustDial(bob.Token)
		bws.Subscribe("e", `subscription { events { `+grpEventFields+` } }`, nil)
		dws := k.MustDial(dan.Token)
		dws.Subscribe("n", noticesSubscription, nil)
		k.WaitSubscriptions(2)

		var out struct{ DissolveGroup string }
		k.OK(ann.Token, grpDissolve, groupVars(g), &out)
		require.Equal(t, g.ID, out.DissolveGroup)

		ev, _ := until(bws, "events", "NOTICE_CREATED")
		require.Equal(t, "group_dissolved", ev.Node.Type)
		require.Equal(t, "team", ev.Node.Postscript)
		ev, _ = until(bws, "events", "GROUP_DELETED")
		require.Equal(t, g.ID, *ev.SubjectID)
		require.Equal(t, "team", ev.Data["name"])
		_, _ = until(bws, "events", "MEMBER_LEFT")
		// The pending application is refused.
		require.Equal(t, "refused", nextNotice(dws).Node.Operation)
		// And so is the owner's copy of it: nothing is left to answer.
		require.Equal(t, []string{"refused"}, k.noticeOperations(ann.Token, "group_apply"), "the owner's copy of the application")

		require.Nil(t, k.card("", g.ID))
		r := k.Do(bob.Token, `query($c: ID!) { messages(conversationId: $c, last: 5) { edges { node { id } } } }`, map[string]any{"c": g.ConversationID})
		require.Equal(t, "NOT_FOUND", r.Code())
		var mine struct {
			MyGroups struct{ TotalCount int }
		}
		k.OK(bob.Token, `{ myGroups(first: 5) { totalCount } }`, nil, &mine)
		require.Zero(t, mine.MyGroups.TotalCount)
		// The notice outlives the group.
		var inbox struct {
			Notices struct {
				Edges []struct {
					Node struct {
						Type, Postscript string
						Group            *struct{ ID string }
					}
				}
			}
		}
		k.OK(cat.Token, `{ notices(first: 10) { edges { node { type postscript group { id } } } } }`, nil, &inbox)
		require.Equal(t, "group_dissolved", inbox.Notices.Edges[0].Node.Type)
		require.Nil(t, inbox.Notices.Edges[0].Node.Group)
		k.Fails(ann.Token, grpDissolve, groupVars(g), "NOT_FOUND", "NOT_FOUND")
		// Messages are deleted with the conversation.
		count, err := k.App.Client.Message.Query().Count(viewer.SystemContext(context.Background()))
		require.NoError(t, err)
		require.Zero(t, count, "the only messages were the group's")
	})
}

// TestGroupSearch: groups by name, case-insensitively, paged, without
// sign-in.
func TestGroupSearch(t *testing.T) {
	eachKit(t, newGrpKit, func(t *testing.T, k grpKit) {
		ann := k.Register("ann", nil)
		for _, n := range []string{"Go Lovers", "golang 中文", "Rustaceans", "100% go", "go_fast"} {
			k.create(ann, map[string]any{"name": n})
		}
		const search = `query($q: String!, $first: Int, $after: Cursor) { searchGroups(query: $q, first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { name memberCount } } } }`
		type page struct {
			SearchGroups struct {
				TotalCount int
				PageInfo   struct {
					HasNextPage bool
					EndCursor   string
				}
				Edges []struct{ Node struct{ Name string } }
			}
		}
		names := func(p page) []string {
			var out []string
			for _, e := range p.SearchGroups.Edges {
				out = append(out, e.Node.Name)
			}
			return out
		}
		var first page
		k.OK("", search, map[string]any{"q": "GO", "first": 2}, &first)
		require.Equal(t, 4, first.SearchGroups.TotalCount)
		require.Equal(t, []string{"100% go", "Go Lovers"}, names(first))
		require.True(t, first.SearchGroups.PageInfo.HasNextPage)
		var second page
		k.OK("", search, map[string]any{"q": "GO", "first": 2, "after": first.SearchGroups.PageInfo.EndCursor}, &second)
		require.Equal(t, []string{"go_fast", "golang 中文"}, names(second))
		require.False(t, second.SearchGroups.PageInfo.HasNextPage)

		var p page
		k.OK(ann.Token, search, map[string]any{"q": "中文"}, &p)
		require.Equal(t, []string{"golang 中文"}, names(p))
		k.OK("", search, map[string]any{"q": "%"}, &p)
		require.Equal(t, []string{"100% go"}, names(p))
		k.OK("", search, map[string]any{"q": "o_f"}, &p)
		require.Equal(t, []string{"go_fast"}, names(p))

		r := k.Fails("", search, map[string]any{"q": "  "}, "BAD_USER_INPUT", "QUERY_TOO_SHORT")
		require.Equal(t, "query", r.Ext("field"))
		r = k.Fails("", search, map[string]any{"q": strings.Repeat("g", 65)}, "BAD_USER_INPUT", "TOO_LONG")
		require.Equal(t, "query", r.Ext("field"))
	})
}

// TestGroupPolicies: the Group and GroupMember privacy policies hold on
// their own, whatever code calls ent: writes below are made straight
// through the ent client as a signed-in viewer, past the domain's checks.
func TestGroupPolicies(t *testing.T) {
	eachKit(t, newGrpKit, func(t *testing.T, k grpKit) {
		ann, bob, cat, g := k.managedGroup()
		dan := k.Register("dan", nil)
		closed := k.group(ann, "invite_only", cat)
		k.Send(ann, bob, "hi") // a direct conversation
		db := k.App.Client
		sys := viewer.SystemContext(context.Background())
		as := func(a account) context.Context {
			return viewer.NewContext(context.Background(), &viewer.Viewer{UserID: intID(a.ID)})
		}
		gid, closedID := intID(g.ID), intID(closed.ID)
		row := func(group int, a account) *ent.GroupMember {
			m, err := db.GroupMember.Query().Where(groupmember.GroupID(group), groupmember.UserID(intID(a.ID))).Only(sys)
			require.NoError(t, err)
			return m
		}
		denied := func(err error) {
			t.Helper()
			require.Error(t, err)
			require.True(t, errors.Is(err, privacy.Deny) || ent.IsNotFound(err), "%v", err)
		}
		secret := k.secretOf(g.ID)
		fresh := time.Now().Add(time.Hour)

		// Joining himself: not into an approval group, nor with a forged or
		// someone else's group's token, nor as a manager.
		denied(db.GroupMember.Create().SetGroupID(gid).SetUserID(intID(dan.ID)).Exec(as(dan)))
		forged := rule.WithGroupJoinToken(as(dan), rule.GroupJoinToken("forged", gid, intID(bob.ID), fresh))
		denied(db.GroupMember.Create().SetGroupID(gid).SetUserID(intID(dan.ID)).Exec(forged))
		elsewhere := rule.WithGroupJoinToken(as(dan), rule.GroupJoinToken(secret, closedID, intID(bob.ID), fresh))
		denied(db.GroupMember.Create().SetGroupID(closedID).SetUserID(intID(dan.ID)).Exec(elsewhere))
		valid := rule.WithGroupJoinToken(as(dan), rule.GroupJoinToken(secret, gid, intID(bob.ID), fresh))
		denied(db.GroupMember.Create().SetGroupID(gid).SetUserID(intID(dan.ID)).SetRole(groupmember.RoleManager).Exec(valid))
		// A plain member adds nobody to an invite-only group, nor anyone as
		// a manager.
		denied(db.GroupMember.Create().SetGroupID(closedID).SetUserID(intID(dan.ID)).Exec(as(cat)))
		denied(db.GroupMember.Create().SetGroupID(gid).SetUserID(intID(dan.ID)).SetRole(groupmember.RoleManager).Exec(as(cat)))
		// With a valid token, he may.
		require.NoError(t, db.GroupMember.Create().SetGroupID(gid).SetUserID(intID(dan.ID)).Exec(valid))

		// Changes: a member cannot promote himself or mute anyone; a
		// manager cannot touch the owner's or another manager's row, nor
		// set roles; nobody edits another's remark.
		denied(row(gid, dan).Update().SetRole(groupmember.RoleManager).Exec(as(dan)))
		denied(row(gid, cat).Update().SetMutedUntil(fresh).Exec(as(dan)))
		denied(row(gid, ann).Update().SetMutedUntil(fresh).Exec(as(bob)))
		denied(row(gid, ann).Update().SetRemark("mine").Exec(as(bob)))
		denied(row(gid, cat).Update().SetRole(groupmember.RoleManager).Exec(as(bob)))
		denied(db.GroupMember.DeleteOne(row(gid, ann)).Exec(as(bob)))
		require.NoError(t, row(gid, cat).Update().SetMutedUntil(fresh).Exec(as(bob)))
		require.NoError(t, row(gid, dan).Update().SetRemark("mine").Exec(as(dan)))
		// The group: a manager renames it but neither hands it over nor
		// deletes it; a new group must take a fresh group conversation.
		require.NoError(t, db.Group.UpdateOneID(gid).SetName("renamed").Exec(as(bob)))
		denied(db.Group.UpdateOneID(gid).SetOwnerID(intID(bob.ID)).Exec(as(bob)))
		denied(db.Group.DeleteOneID(gid).Exec(as(bob)))
		denied(db.Group.UpdateOneID(gid).SetName("x").Exec(as(cat)))
		direct, err := db.Conversation.Query().Where(conversation.KindEQ(conversation.KindDirect)).Only(sys)
		require.NoError(t, err)
		denied(db.Group.Create().SetName("hijack").SetOwnerID(intID(ann.ID)).SetConversationID(direct.ID).Exec(as(ann)))
	})
}

// TestGroupMemberNames: a member's displayName follows one rule (alias, else
// nickname, else username) whatever else the query selects and whichever
// path reaches the member.
func TestGroupMemberNames(t *testing.T) {
	eachKit(t, newGrpKit, func(t *testing.T, k grpKit) {
		p := k.people("Ann", "Bob")
		plain := k.Register("plain", nil)
		k.befriend(p[0], plain)
		g := k.group(p[0], "open", p[1], plain)
		k.OK(p[1].Token, `mutation($g: ID!) { updateMyGroupMembership(groupId: $g, input: {alias: "Bobby"}) { alias } }`, map[string]any{"g": g.ID}, nil)
		want := map[string]string{"Ann": "Ann", "Bobby": "Bobby", "plain": "plain"}
		for _, sel := range []string{"", "user { id }", "user { username }", "user { nickname }", "user { id username nickname }", "alias"} {
			for _, path := range []string{
				`group(id: $id) { members(first: 10) { edges { node { displayName %s } } } }`,
				`node(id: $id) { ... on Group { members(first: 10) { edges { node { displayName %s } } } } }`,
				`nodes(ids: [$id]) { ... on Group { members(last: 10) { edges { node { displayName %s } } } } }`,
			} {
				q := fmt.Sprintf(`query($id: ID!) { `+path+` }`, sel)
				var out map[string]any
				k.OK(p[1].Token, q, map[string]any{"id": g.ID}, &out)
				got := map[string]string{}
				collectDisplayNames(out, got)
				require.Equal(t, want, got, "%s", q)
			}
		}
		var mine struct {
			Group struct{ MyMembership struct{ DisplayName string } }
		}
		k.OK(plain.Token, `query($id: ID!) { group(id: $id) { myMembership { displayName } } }`, map[string]any{"id": g.ID}, &mine)
		require.Equal(t, "plain", mine.Group.MyMembership.DisplayName)
	})
}

// collectDisplayNames gathers every displayName in a decoded response.
func collectDisplayNames(v any, into map[string]string) {
	switch v := v.(type) {
	case map[string]any:
		for key, x := range v {
			if s, ok := x.(string); ok && key == "displayName" {
				into[s] = s
			}
			collectDisplayNames(x, into)
		}
	case []any:
		for _, x := range v {
			collectDisplayNames(x, into)
		}
	}
}

// TestMemberDetailSwitch: with memberDetail off, members of a group read
// each other's names and avatars but not their profile details, on every
// path to the user; friends, the user himself and admins still do.
func TestMemberDetailSwitch(t *testing.T) {
	eachKit(t, newGrpKit, func(t *testing.T, k grpKit) {
		root := k.newAdmin("root")
		p := k.people("Ann", "Bob", "Cat") // Ann is friends with both; Bob and Cat are not
		ann, bob, cat := p[0], p[1], p[2]
		k.OK(cat.Token, `mutation { updateProfile(input: {sign: "hello", location: "Paris", sex: female}) { id } }`, nil, nil)
		g := k.group(ann, "open", bob, cat)
		const fields = `nickname sign location sex friendCount`
		type card struct {
			Nickname, Sign, Location, Sex string
			FriendCount                   int
		}
		read := func(a account) []card {
			t.Helper()
			var out struct {
				User, Node struct{ card }
				Group      struct {
					Members struct {
						Edges []struct {
							Node struct {
								User struct {
									ID string
									card
								}
							}
						}
					}
				}
			}
			k.OK(a.Token, `query($u: ID!, $g: ID!) { user(id: $u) { `+fields+` } node(id: $u) { ... on User { `+fields+` } }
				group(id: $g) { members(first: 10) { edges { node { user { id `+fields+` } } } } } }`, map[string]any{"u": cat.ID, "g": g.ID}, &out)
			cards := []card{out.User.card, out.Node.card}
			for _, e := range out.Group.Members.Edges {
				if e.Node.User.ID == cat.ID {
					cards = append(cards, e.Node.User.card)
				}
			}
			require.Len(t, cards, 3)
			return cards
		}
		full := card{Nickname: "Cat", Sign: "hello", Location: "Paris", Sex: "female", FriendCount: 1}
		bare := card{Nickname: "Cat", Sex: "unknown"}
		require.Equal(t, []card{full, full, full}, read(bob), "on by default")
		k.settings(root, map[string]any{"memberDetail": false})
		require.Equal(t, []card{bare, bare, bare}, read(bob), "a fellow member: name only")
		for _, a := range []account{ann, cat, root} {
			require.Equal(t, []card{full, full, full}, read(a), "a friend, himself, an admin")
		}
		k.settings(root, map[string]any{"memberDetail": true})
		require.Equal(t, []card{full, full, full}, read(bob))
	})
}

// TestDirtyWordsEverywhere: the dirty-word filter masks every text people
// write for others, not only message text: nicknames, signs, group names
// and notices, member aliases, room names, file names and link labels, as
// others read them through the API.
func TestDirtyWordsEverywhere(t *testing.T) {
	eachKit(t, newGrpKit, func(t *testing.T, k grpKit) {
		root := k.newAdmin("root")
		k.settings(root, map[string]any{"dirtyWords": []string{"heck", "坏蛋"}})
		p := k.people("Ann", "Bob")
		ann, bob := p[0], p[1]
		k.OK(ann.Token, `mutation { updateProfile(input: {nickname: "Heck Ann", sign: "我是坏蛋", location: "Heckville"}) { id } }`, nil, nil)
		var u struct {
			User struct{ Nickname, Sign, Location string }
		}
		k.OK(bob.Token, `query($id: ID!) { user(id: $id) { nickname sign location } }`, map[string]any{"id": ann.ID}, &u)
		require.Equal(t, "**** Ann", u.User.Nickname)
		require.Equal(t, "我是**", u.User.Sign)
		require.Equal(t, "****ville", u.User.Location)

		g := k.create(ann, map[string]any{"name": "heck club", "notice": "no 坏蛋 here", "memberIds": []string{bob.ID}})
		require.Equal(t, "**** club", g.Name)
		require.Equal(t, "no ** here", k.card(bob.Token, g.ID).Notice)
		k.OK(bob.Token, `mutation($g: ID!) { updateMyGroupMembership(groupId: $g, input: {alias: "heckler"}) { alias } }`, map[string]any{"g": g.ID}, nil)
		for _, e := range k.card(ann.Token, g.ID).Members.Edges {
			if e.Node.User.ID == bob.ID {
				require.Equal(t, "****ler", e.Node.DisplayName)
			}
		}

		r := k.room(ann, "Heck Room", "a 坏蛋 den")
		var room struct{ Room struct{ Name, Detail string } }
		k.OK(bob.Token, `query($id: ID!) { room(id: $id) { name detail } }`, map[string]any{"id": r.ID}, &room)
		require.Equal(t, "**** Room", room.Room.Name)
		require.Equal(t, "a ** den", room.Room.Detail)

		f := k.upload(ann.Token, "file", "heck.pdf", []byte("%PDF-1.4 heck"))
		m := k.sendIn(ann, map[string]any{"to": bob.ID, "parts": []map[string]any{
			{"category": "file", "fileId": f.ID},
			{"category": "link", "content": "heck of a link", "url": "https://example.com/heck"},
		}})
		var got struct {
			Node struct {
				Parts []struct {
					Category, Content string
					Name, URL         *string
				}
			}
		}
		k.OK(bob.Token, `query($id: ID!) { node(id: $id) { ... on Message { parts { category content name url } } } }`, map[string]any{"id": m.ID}, &got)
		require.Len(t, got.Node.Parts, 2)
		require.Equal(t, "****.pdf", *got.Node.Parts[0].Name)
		require.Equal(t, "**** of a link", got.Node.Parts[1].Content)
		require.Equal(t, "https://example.com/heck", *got.Node.Parts[1].URL, "URLs stay usable")
	})
}

// TestGroupRemarkIsMyTitle: my remark for a group is its title for me, in
// my conversation list and home.groups (sorted by it), and for nobody else.
func TestGroupRemarkIsMyTitle(t *testing.T) {
	eachKit(t, newGrpKit, func(t *testing.T, k grpKit) {
		p := k.people("Ann", "Bob")
		ann, bob := p[0], p[1]
		zebra := k.create(ann, map[string]any{"name": "Zebra", "memberIds": []string{bob.ID}})
		k.create(ann, map[string]any{"name": "Mango", "memberIds": []string{bob.ID}})
		k.OK(bob.Token, `mutation($g: ID!) { updateMyGroupMembership(groupId: $g, input: {remark: "Aardvark work"}) { remark } }`, map[string]any{"g": zebra.ID}, nil)
		home := func(a account) (shown, names []string) {
			var out struct {
				Home struct {
					Groups []struct{ Title, Name string }
				}
			}
			k.OK(a.Token, `{ home { groups { title name } } }`, nil, &out)
			for _, g := range out.Home.Groups {
				shown, names = append(shown, g.Title), append(names, g.Name)
			}
			return shown, names
		}
		shown, names := home(bob)
		require.Equal(t, []string{"Aardvark work", "Mango"}, shown)
		require.Equal(t, []string{"Zebra", "Mango"}, names)
		shown, _ = home(ann)
		require.Equal(t, []string{"Mango", "Zebra"}, shown)
		require.ElementsMatch(t, []string{"Aardvark work", "Mango"}, titles(k.conversationList(bob, "")))
		require.ElementsMatch(t, []string{"Zebra", "Mango"}, titles(k.conversationList(ann, "")))
		var node struct{ Node struct{ Title string } }
		k.OK(bob.Token, `query($id: ID!) { node(id: $id) { ... on Group { title } } }`, map[string]any{"id": zebra.ID}, &node)
		require.Equal(t, "Aardvark work", node.Node.Title)
	})
}

// TestGroupMemberSearch: members(query:) finds members for an @-mention by
// display name, username or nickname, their pinyin or pinyin initials, and
// pages what it finds.
func TestGroupMemberSearch(t *testing.T) {
	eachKit(t, newGrpKit, func(t *testing.T, k grpKit) {
		p := k.people("Ann", "Zoe")
		for i, nick := range []string{"张三", "曾小明"} {
			a := k.Register(fmt.Sprintf("cn%d", i), map[string]any{"nickname": nick})
			k.befriend(p[0], a)
			p = append(p, a)
		}
		p[1], p[2], p[3] = p[2], p[3], p[1] // Ann, 张三, 曾小明, Zoe
		g := k.group(p[0], "open", p[1], p[2], p[3])
		k.OK(p[3].Token, `mutation($g: ID!) { updateMyGroupMembership(groupId: $g, input: {alias: "Zed"}) { alias } }`, map[string]any{"g": g.ID}, nil)
		search := func(query string, page map[string]any) []string {
			t.Helper()
			vars := map[string]any{"id": g.ID, "q": query, "first": 10}
			for key, v := range page {
				vars[key] = v
			}
			var out struct {
				Node struct {
					Members struct {
						Edges []struct{ Node struct{ DisplayName string } }
					}
				}
			}
			k.OK(p[1].Token, `query($id: ID!, $q: String, $first: Int) { node(id: $id) { ... on Group { members(query: $q, first: $first) { edges { node { displayName } } } } } }`, vars, &out)
			return apptest.Map(out.Node.Members.Edges, func(e struct{ Node struct{ DisplayName string } }) string { return e.Node.DisplayName })
		}
		require.Equal(t, []string{"张三"}, search("zs", nil))
		require.Equal(t, []string{"张三"}, search("zhang", nil))
		require.Equal(t, []string{"曾小明"}, search("zxm", nil))
		require.Equal(t, []string{"Zed"}, search("zed", nil), "by alias")
		require.Equal(t, []string{"Zed"}, search("zoe", nil), "by nickname behind the alias")
		require.Equal(t, []string{"Ann"}, search("ANN", nil))
		require.Equal(t, []string{"张三", "曾小明", "Zed"}, search("z", nil))
		require.Equal(t, []string{"张三"}, search("z", map[string]any{"first": 1}))
		require.Len(t, search("", nil), 4, "no query: everyone")
		require.Empty(t, search("nobody", nil))
		k.Fails(p[1].Token, `query($id: ID!) { group(id: $id) { members(query: "`+strings.Repeat("x", 65)+`") { totalCount } } }`, map[string]any{"id": g.ID}, "BAD_USER_INPUT", "TOO_LONG")
	})
}
