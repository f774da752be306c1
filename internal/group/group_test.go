package group_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/conversation"
	entgroup "github.com/parley-im/parley/ent/group"
	"github.com/parley-im/parley/ent/groupmember"
	"github.com/parley-im/parley/ent/message"
	"github.com/parley-im/parley/ent/notice"
	"github.com/parley-im/parley/ent/rule"
	"github.com/parley-im/parley/internal/group"
	"github.com/parley-im/parley/internal/messaging"
	"github.com/parley-im/parley/internal/messaging/chattest"
	noticesvc "github.com/parley-im/parley/internal/notice"
	"github.com/parley-im/parley/internal/platform/apperr"
)

// staff is a group of owner, two managers and two plain members.
type staff struct {
	g                             *ent.Group
	owner, mgr1, mgr2, mem1, mem2 int
}

// newStaff creates the group; its users' names start with prefix.
func newStaff(t *testing.T, e *chattest.Env, mode entgroup.JoinMode, prefix string) staff {
	t.Helper()
	user := func(name string) int { return e.User(t, prefix+name) }
	s := staff{owner: user("owner"), mgr1: user("mgr1"), mgr2: user("mgr2"), mem1: user("mem1"), mem2: user("mem2")}
	name := "staff"
	s.g = e.Group(t, s.owner, group.CreateInput{Name: &name, JoinMode: &mode, MemberIDs: []int{s.mgr1, s.mgr2, s.mem1, s.mem2}})
	for _, m := range []int{s.mgr1, s.mgr2} {
		e.Must(t, s.owner, func(ctx context.Context) error {
			_, err := e.Groups.SetManager(ctx, s.g.ID, m, true)
			return err
		})
	}
	return s
}

// TestGroupRoles: only the owner sets managers, his own role is fixed, and
// standing is checked before anything else.
func TestGroupRoles(t *testing.T) {
	chattest.Each(t, func(t *testing.T, e *chattest.Env) {
		s := newStaff(t, e, entgroup.JoinModeApproval, "")
		outsider := e.User(t, "outsider")
		setManager := func(as, uid int, manager bool) error {
			return e.In(as, func(ctx context.Context) error {
				_, err := e.Groups.SetManager(ctx, s.g.ID, uid, manager)
				return err
			})
		}
		chattest.Refused(t, group.ReasonNotOwner, setManager(s.mgr1, s.mem1, true), "a manager sets no managers")
		chattest.Refused(t, group.ReasonNotMember, setManager(outsider, s.mem1, true))
		chattest.Refused(t, group.ReasonOwnerRoleFixed, setManager(s.owner, s.owner, false))
		chattest.Refused(t, group.ReasonUserNotMember, setManager(s.owner, outsider, true))
		require.NoError(t, setManager(s.owner, s.mgr2, false))
		for uid, want := range map[int]bool{s.owner: true, s.mgr1: true, s.mgr2: false, s.mem1: false, outsider: false} {
			is, err := e.Groups.IsManager(chattest.As(outsider), s.g, uid)
			require.NoError(t, err)
			require.Equal(t, want, is, "user %d", uid)
		}
		top, err := e.Groups.TopMembers(chattest.As(0), s.g)
		require.NoError(t, err)
		var order []int
		for _, m := range top {
			order = append(order, m.UserID)
		}
		require.Equal(t, []int{s.owner, s.mgr1, s.mgr2, s.mem1, s.mem2}, order, "owner, managers, then by joining")

		chattest.Refused(t, group.ReasonOwnerCannotLeave, e.In(s.owner, func(ctx context.Context) error { return e.Groups.Leave(ctx, s.g.ID) }))
		e.Must(t, s.mem2, func(ctx context.Context) error { return e.Groups.Leave(ctx, s.g.ID) })
		g, err := e.Groups.Get(chattest.As(0), s.g.ID)
		require.NoError(t, err)
		require.Equal(t, 4, g.MemberCount)
		in, err := e.Client.ConversationMember.Query().Where().Count(chattest.As(s.mem2))
		require.NoError(t, err)
		require.Zero(t, in, "who left reads nothing of the conversation")
	})
}

// TestGroupReach: removing and muting reach the rows below the actor: the
// owner's everyone but himself, a manager's plain members; each limb has its
// reason, and the policy refuses the same writes made straight through ent.
func TestGroupReach(t *testing.T) {
	chattest.Each(t, func(t *testing.T, e *chattest.Env) {
		s := newStaff(t, e, entgroup.JoinModeApproval, "")
		remove := func(as, uid int) error {
			return e.In(as, func(ctx context.Context) error {
				_, err := e.Groups.Remove(ctx, s.g.ID, []int{uid})
				return err
			})
		}
		hour := time.Now().Add(time.Hour)
		mute := func(as, uid int, until *time.Time) error {
			return e.In(as, func(ctx context.Context) error {
				_, err := e.Groups.Mute(ctx, s.g.ID, uid, until)
				return err
			})
		}
		for _, c := range []struct {
			actor, target      int
			kick, mute, reason string
		}{
			{s.mgr1, s.mgr1, group.ReasonCannotKickSelf, group.ReasonCannotMuteSelf, "self"},
			{s.owner, s.owner, group.ReasonCannotKickSelf, group.ReasonCannotMuteSelf, "the owner himself"},
			{s.mgr1, s.owner, group.ReasonCannotKickOwner, group.ReasonCannotMuteOwner, "the owner"},
			{s.mgr1, s.mgr2, group.ReasonCannotKickManager, group.ReasonCannotMuteManager, "a manager by a manager"},
			{s.mem1, s.mem2, group.ReasonNotManager, group.ReasonNotManager, "a member by a member"},
		} {
			chattest.Refused(t, c.kick, remove(c.actor, c.target), "remove %s", c.reason)
			chattest.Refused(t, c.mute, mute(c.actor, c.target, &hour), "mute %s", c.reason)
		}
		long := time.Now().Add(group.MuteMax + time.Hour)
		chattest.Refused(t, group.ReasonMuteTooLong, mute(s.owner, s.mem1, &long))

		// The policy, written past the service: the same rows stay out of reach.
		mgr2Row := e.Client.GroupMember.Query().Where(groupmember.GroupID(s.g.ID), groupmember.UserID(s.mgr2)).OnlyX(chattest.System())
		err := e.In(s.mgr1, func(ctx context.Context) error { return ent.FromContext(ctx).GroupMember.DeleteOne(mgr2Row).Exec(ctx) })
		require.True(t, ent.IsNotFound(err), "a manager removes no manager through ent: %v", err)

		require.NoError(t, mute(s.mgr1, s.mem1, &hour), "a manager mutes a member")
		require.NoError(t, mute(s.owner, s.mgr2, &hour), "the owner mutes a manager")
		require.NoError(t, remove(s.mgr1, s.mem2), "a manager removes a member")
		require.NoError(t, remove(s.owner, s.mgr2), "the owner removes a manager")
		members, err := e.Client.GroupMember.Query().Where(groupmember.GroupID(s.g.ID)).Count(chattest.System())
		require.NoError(t, err)
		require.Equal(t, 3, members)
		kicked, err := e.Client.Notice.Query().Where(notice.TypeEQ(notice.TypeGroupKicked), notice.ToIDIn(s.mem2, s.mgr2)).Count(chattest.System())
		require.NoError(t, err)
		require.Equal(t, 2, kicked, "each removed member is told")
		_, err = e.Messaging.History(chattest.As(s.mem2), s.g.ConversationID, nil, nil, nil, nil)
		chattest.Refused(t, apperr.ReasonNotFound, err, "a removed member reads nothing")
	})
}

// TestGroupMutes: a muted member may not post until his mute ends;
// mute-all silences everyone who does not manage the group; Muted says the
// same as a post.
func TestGroupMutes(t *testing.T) {
	chattest.Each(t, func(t *testing.T, e *chattest.Env) {
		s := newStaff(t, e, entgroup.JoinModeApproval, "")
		post := func(uid int) error {
			return e.In(uid, func(ctx context.Context) error {
				_, err := e.Messaging.Send(ctx, messaging.Request{GroupID: s.g.ID, Text: "hi"})
				return err
			})
		}
		muted := func(uid int) bool {
			m := e.Client.GroupMember.Query().Where(groupmember.GroupID(s.g.ID), groupmember.UserID(uid)).OnlyX(chattest.System())
			is, err := e.Groups.Muted(chattest.As(0), m)
			require.NoError(t, err)
			return is
		}
		hour := time.Now().Add(time.Hour)
		e.Must(t, s.mgr1, func(ctx context.Context) error { _, err := e.Groups.Mute(ctx, s.g.ID, s.mem1, &hour); return err })
		chattest.Refused(t, group.ReasonMuted, post(s.mem1))
		require.True(t, muted(s.mem1))
		require.NoError(t, post(s.mem2))
		require.False(t, muted(s.mem2))

		past := time.Unix(0, 0)
		e.Must(t, s.mgr1, func(ctx context.Context) error { _, err := e.Groups.Mute(ctx, s.g.ID, s.mem1, &past); return err })
		require.NoError(t, post(s.mem1), "a past time unmutes")

		e.Must(t, s.mgr1, func(ctx context.Context) error { _, err := e.Groups.MuteAll(ctx, s.g.ID, true); return err })
		chattest.Refused(t, group.ReasonMutedAll, post(s.mem2))
		require.True(t, muted(s.mem2))
		require.NoError(t, post(s.mgr2), "managers post while the group is muted")
		require.NoError(t, post(s.owner))
		require.False(t, muted(s.mgr2))

		outsider := e.User(t, "outsider")
		chattest.Refused(t, messaging.ReasonNotMember, post(outsider))
	})
}

// TestGroupInvite: any member invites, but in an invite-only group only
// the owner and managers; invitees must be friends and not yet members.
func TestGroupInvite(t *testing.T) {
	chattest.Each(t, func(t *testing.T, e *chattest.Env) {
		s := newStaff(t, e, entgroup.JoinModeInviteOnly, "")
		guest, stranger := e.User(t, "guest"), e.User(t, "stranger")
		for _, uid := range []int{s.mem1, s.mgr1} {
			e.People.Befriend(uid, guest)
		}
		invite := func(as int, users ...int) error {
			return e.In(as, func(ctx context.Context) error {
				_, err := e.Groups.Invite(ctx, s.g.ID, users)
				return err
			})
		}
		chattest.Refused(t, group.ReasonNotManager, invite(s.mem1, guest), "plain members do not invite into an invite-only group")
		chattest.Refused(t, group.ReasonNotFriends, invite(s.mgr1, stranger))
		e.People.Befriend(s.mgr1, s.mem2)
		chattest.Refused(t, group.ReasonAlreadyMember, invite(s.mgr1, s.mem2))
		require.NoError(t, invite(s.mgr1, guest))

		e.Must(t, s.owner, func(ctx context.Context) error {
			mode := entgroup.JoinModeApproval
			_, err := e.Groups.Update(ctx, s.g.ID, group.Patch{JoinMode: &mode})
			return err
		})
		e.People.Befriend(s.mem1, stranger)
		require.NoError(t, invite(s.mem1, stranger), "members invite into an approval group")
		require.Contains(t, e.SystemLines(t, s.g.ConversationID), "mem1 invited stranger")
	})
}

// TestGroupJoinLinks: a link works for anyone while its issuer may invite;
// forged, foreign and expired tokens are told apart; without a token the
// join mode decides.
func TestGroupJoinLinks(t *testing.T) {
	chattest.Each(t, func(t *testing.T, e *chattest.Env) {
		s := newStaff(t, e, entgroup.JoinModeInviteOnly, "")
		other := newStaff(t, e, entgroup.JoinModeInviteOnly, "other-")
		join := func(uid int, token string) error {
			return e.In(uid, func(ctx context.Context) error {
				_, err := e.Groups.Join(ctx, s.g.ID, token)
				return err
			})
		}
		link := func(uid int, g *ent.Group) *group.Link {
			l, err := e.Groups.JoinLink(chattest.As(uid), g)
			require.NoError(t, err)
			return l
		}
		g := e.Client.Group.GetX(chattest.System(), s.g.ID) // with its secret
		require.Nil(t, link(s.mem1, g), "plain members of an invite-only group issue no link")
		require.Nil(t, link(e.User(t, "nobody"), g), "nor do outsiders")
		byMgr := link(s.mgr1, g)
		require.NotNil(t, byMgr)

		a, c, d := e.User(t, "a"), e.User(t, "c"), e.User(t, "d")
		chattest.Refused(t, group.ReasonInviteOnly, join(a, ""))
		chattest.Refused(t, group.ReasonLinkInvalid, join(a, "1.2.3"))
		chattest.Refused(t, group.ReasonLinkInvalid, join(a, link(other.mgr1, e.Client.Group.GetX(chattest.System(), other.g.ID)).Token), "another group's link")
		expired := rule.GroupJoinToken(g.JoinSecret, g.ID, s.mgr1, time.Now().Add(-time.Hour))
		chattest.Refused(t, group.ReasonLinkExpired, join(a, expired))
		require.NoError(t, join(a, byMgr.Token))
		chattest.Refused(t, group.ReasonAlreadyMember, join(a, byMgr.Token))

		e.Must(t, s.owner, func(ctx context.Context) error { _, err := e.Groups.SetManager(ctx, s.g.ID, s.mgr1, false); return err })
		chattest.Refused(t, group.ReasonLinkRevoked, join(c, byMgr.Token), "a link dies with its issuer's right to invite")

		e.Must(t, s.owner, func(ctx context.Context) error {
			mode := entgroup.JoinModeApproval
			_, err := e.Groups.Update(ctx, s.g.ID, group.Patch{JoinMode: &mode})
			return err
		})
		chattest.Refused(t, group.ReasonApprovalNeeded, join(d, ""))
		require.NoError(t, join(c, byMgr.Token), "in an approval group any member's link works")
		e.Must(t, s.owner, func(ctx context.Context) error {
			mode := entgroup.JoinModeOpen
			_, err := e.Groups.Update(ctx, s.g.ID, group.Patch{JoinMode: &mode})
			return err
		})
		require.NoError(t, join(d, ""))
		lines := e.SystemLines(t, s.g.ConversationID)
		require.Contains(t, lines, "a joined the group through a link shared by mgr1")
		require.Contains(t, lines, "d joined the group")
	})
}

// TestGroupApplications: applications reach every manager; an approval by
// one answers all copies, a second answer finds it handled.
func TestGroupApplications(t *testing.T) {
	chattest.Each(t, func(t *testing.T, e *chattest.Env) {
		s := newStaff(t, e, entgroup.JoinModeApproval, "")
		applicant := e.User(t, "applicant")
		e.Must(t, applicant, func(ctx context.Context) error {
			_, joined, err := e.Groups.Apply(ctx, s.g.ID, "let me in")
			require.False(t, joined)
			return err
		})
		copies, err := e.Client.Notice.Query().Where(notice.TypeEQ(notice.TypeGroupApply), notice.FromID(applicant)).All(chattest.System())
		require.NoError(t, err)
		require.Len(t, copies, 3, "the owner and both managers")
		approve := func(as int) error {
			return e.In(as, func(ctx context.Context) error { _, err := e.Groups.Approve(ctx, s.g.ID, applicant); return err })
		}
		chattest.Refused(t, group.ReasonNotManager, approve(s.mem1))
		require.NoError(t, approve(s.mgr2))
		chattest.Refused(t, noticesvc.ReasonAlreadyHandled, approve(s.mgr1))
		open, err := e.Client.Notice.Query().Where(notice.FromID(applicant), notice.OperationEQ(notice.OperationNotOperated)).Count(chattest.System())
		require.NoError(t, err)
		require.Zero(t, open)
		require.Contains(t, e.SystemLines(t, s.g.ConversationID), "applicant joined the group, approved by mgr2")
	})
}

// TestGroupDissolve: the owner only; the group, its memberships, its
// conversation and its messages go, and the others are told.
func TestGroupDissolve(t *testing.T) {
	chattest.Each(t, func(t *testing.T, e *chattest.Env) {
		s := newStaff(t, e, entgroup.JoinModeApproval, "")
		e.Send(t, s.mem1, messaging.Request{GroupID: s.g.ID, Text: "bye"})
		dissolve := func(as int) error {
			return e.In(as, func(ctx context.Context) error { return e.Groups.Dissolve(ctx, s.g.ID) })
		}
		chattest.Refused(t, group.ReasonNotOwner, dissolve(s.mgr1))
		require.NoError(t, dissolve(s.owner))
		sys := chattest.System()
		for what, n := range map[string]int{
			"groups":        e.Client.Group.Query().Where(entgroup.ID(s.g.ID)).CountX(sys),
			"memberships":   e.Client.GroupMember.Query().Where(groupmember.GroupID(s.g.ID)).CountX(sys),
			"conversations": e.Client.Conversation.Query().Where(conversation.ID(s.g.ConversationID)).CountX(sys),
			"messages":      e.Client.Message.Query().Where(message.ConversationID(s.g.ConversationID)).CountX(sys),
		} {
			require.Zero(t, n, what)
		}
		told, err := e.Client.Notice.Query().Where(notice.TypeEQ(notice.TypeGroupDissolved), notice.Postscript("staff")).Count(sys)
		require.NoError(t, err)
		require.Equal(t, 4, told, "every member but the owner")
	})
}

// TestGroupDisplayName: a member's alias, else his nickname, else his
// username; the same when the user at hand was loaded without his names
// (a GraphQL query that selected only his id, or his username).
func TestGroupDisplayName(t *testing.T) {
	chattest.Each(t, func(t *testing.T, e *chattest.Env) {
		owner, nick, plain := e.User(t, "owner"), e.User(t, "nick", "Nicky"), e.User(t, "plain", "")
		g := e.Group(t, owner, group.CreateInput{MemberIDs: []int{nick, plain}})
		require.Equal(t, "owner, Nicky, plain", g.Name, "a group without a name is named after its members")
		alias := "Boss"
		e.Must(t, owner, func(ctx context.Context) error {
			_, err := e.Groups.UpdateMembership(ctx, g.ID, nil, &alias)
			return err
		})
		want := map[int]string{owner: "Boss", nick: "Nicky", plain: "plain"}
		sys := chattest.System()
		for uid, name := range want {
			full := e.Client.GroupMember.Query().Where(groupmember.GroupID(g.ID), groupmember.UserID(uid)).WithUser().OnlyX(sys)
			idOnly := e.Client.GroupMember.Query().Where(groupmember.GroupID(g.ID), groupmember.UserID(uid)).
				WithUser(func(q *ent.UserQuery) { q.Select("id") }).OnlyX(sys)
			usernameOnly := e.Client.GroupMember.Query().Where(groupmember.GroupID(g.ID), groupmember.UserID(uid)).
				WithUser(func(q *ent.UserQuery) { q.Select("username") }).OnlyX(sys)
			bare := e.Client.GroupMember.Query().Where(groupmember.GroupID(g.ID), groupmember.UserID(uid)).OnlyX(sys)
			for form, m := range map[string]*ent.GroupMember{"full user": full, "id only": idOnly, "username only": usernameOnly, "no user": bare} {
				got, err := e.Groups.MemberName(chattest.As(0), m)
				require.NoError(t, err)
				require.Equal(t, name, got, "%s, %s", name, form)
			}
		}
	})
}
