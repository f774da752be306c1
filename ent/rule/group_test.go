package rule_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/conversation"
	"github.com/parley-im/parley/ent/group"
	"github.com/parley-im/parley/ent/groupmember"
	"github.com/parley-im/parley/ent/rule"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/platform/dbtest"
)

// groupFixture is a group written as the system: its owner, two managers,
// two plain members, and a user outside it.
type groupFixture struct {
	c        *ent.Client
	g        *ent.Group
	members  map[int]*ent.GroupMember // by user id
	outsider int
}

var fixtureUsers atomic.Int64

func newGroupFixture(t *testing.T, c *ent.Client, mode group.JoinMode, prefix string) groupFixture {
	t.Helper()
	sys := viewer.SystemContext(context.Background())
	user := func(name string) int {
		return c.User.Create().SetUsername(prefix + name).SetNickname(name).SetPasswordHash("!").
			SetPublicID(30_000_000 + fixtureUsers.Add(1)).SaveX(sys).ID
	}
	owner := user("owner")
	conv := c.Conversation.Create().SetKind(conversation.KindGroup).SaveX(sys)
	g := c.Group.Create().SetName("g").SetOwnerID(owner).SetConversationID(conv.ID).SetJoinMode(mode).SetJoinSecret("secret").SaveX(sys)
	f := groupFixture{c: c, g: g, members: map[int]*ent.GroupMember{}}
	add := func(uid int, role groupmember.Role) {
		f.members[uid] = c.GroupMember.Create().SetGroupID(g.ID).SetUserID(uid).SetRole(role).SaveX(sys)
	}
	add(owner, groupmember.RoleOwner)
	add(user("mgr1"), groupmember.RoleManager)
	add(user("mgr2"), groupmember.RoleManager)
	add(user("mem1"), groupmember.RoleMember)
	add(user("mem2"), groupmember.RoleMember)
	f.outsider = user("outsider")
	return f
}

// as runs write as viewer uid straight through ent, in a transaction that
// is rolled back, and returns its error: the policy alone decides.
func (f groupFixture) as(t *testing.T, uid int, write func(ctx context.Context, c *ent.Client) error) error {
	t.Helper()
	ctx := viewer.NewContext(context.Background(), &viewer.Viewer{UserID: uid})
	tx, err := f.c.Tx(ctx)
	require.NoError(t, err)
	defer tx.Rollback()
	return write(ent.NewTxContext(ctx, tx), tx.Client())
}

// TestGroupMemberReachForms: for every pair of members, the GroupMember
// policy lets a mute and a removal written straight through ent past exactly
// when rule.GroupMemberReach, the check the group service runs, answers
// InReach; so a manager cannot remove or mute another manager, nor anyone
// the owner, even past the service.
func TestGroupMemberReachForms(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		f := newGroupFixture(t, dbtest.Open(t, b).Client, group.JoinModeApproval, "")
		until := time.Now().Add(time.Hour)
		inReach := 0
		for _, actor := range f.members {
			for _, target := range f.members {
				want := rule.GroupMemberReach(actor, target) == rule.InReach
				what := fmt.Sprintf("%s %d on %s %d", actor.Role, actor.UserID, target.Role, target.UserID)
				mute := f.as(t, actor.UserID, func(ctx context.Context, c *ent.Client) error {
					return c.GroupMember.UpdateOneID(target.ID).SetMutedUntil(until).Exec(ctx)
				})
				unmute := f.as(t, actor.UserID, func(ctx context.Context, c *ent.Client) error {
					return c.GroupMember.UpdateOneID(target.ID).ClearMutedUntil().Exec(ctx)
				})
				remove := f.as(t, actor.UserID, func(ctx context.Context, c *ent.Client) error {
					return c.GroupMember.DeleteOneID(target.ID).Exec(ctx)
				})
				if want {
					inReach++
					require.NoError(t, mute, "mute: "+what)
					require.NoError(t, unmute, "unmute: "+what)
					require.NoError(t, remove, "remove: "+what)
					continue
				}
				require.True(t, ent.IsNotFound(mute), "mute: %s: %v", what, mute)
				require.True(t, ent.IsNotFound(unmute), "unmute: %s: %v", what, unmute)
				if actor.UserID != target.UserID { // a member deletes his own row: he leaves
					require.True(t, ent.IsNotFound(remove), "remove: %s: %v", what, remove)
				}
			}
		}
		// The owner reaches 4, each manager the 2 plain members.
		require.Equal(t, 8, inReach)
	})
}

// TestGroupMemberFieldWrites: through ent, roles are the owner's to change,
// remarks and aliases each member's own, and nobody outside the group
// touches a membership.
func TestGroupMemberFieldWrites(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		f := newGroupFixture(t, dbtest.Open(t, b).Client, group.JoinModeApproval, "")
		byRole := map[groupmember.Role][]*ent.GroupMember{}
		for _, m := range f.members {
			byRole[m.Role] = append(byRole[m.Role], m)
		}
		owner, mgr, mem := byRole[groupmember.RoleOwner][0], byRole[groupmember.RoleManager][0], byRole[groupmember.RoleMember][0]
		setRole := func(actor int, target *ent.GroupMember, role groupmember.Role) error {
			return f.as(t, actor, func(ctx context.Context, c *ent.Client) error {
				return c.GroupMember.UpdateOneID(target.ID).SetRole(role).Exec(ctx)
			})
		}
		require.NoError(t, setRole(owner.UserID, mem, groupmember.RoleManager), "the owner sets managers")
		require.True(t, ent.IsNotFound(setRole(mgr.UserID, mem, groupmember.RoleManager)), "a manager sets no roles")
		require.True(t, ent.IsNotFound(setRole(mem.UserID, mem, groupmember.RoleManager)), "nobody promotes himself")

		setAlias := func(actor int, target *ent.GroupMember) error {
			return f.as(t, actor, func(ctx context.Context, c *ent.Client) error {
				return c.GroupMember.UpdateOneID(target.ID).SetAlias("x").SetRemark("y").Exec(ctx)
			})
		}
		require.NoError(t, setAlias(mem.UserID, mem), "a member names himself")
		require.True(t, ent.IsNotFound(setAlias(owner.UserID, mem)), "even the owner sets no one else's alias")

		remove := func(actor int, target *ent.GroupMember) error {
			return f.as(t, actor, func(ctx context.Context, c *ent.Client) error {
				return c.GroupMember.DeleteOneID(target.ID).Exec(ctx)
			})
		}
		require.True(t, ent.IsNotFound(remove(f.outsider, mem)), "an outsider removes nobody")
		require.NoError(t, remove(mem.UserID, mem), "a member leaves")
	})
}

// TestGroupInviterForms: in every join mode, the GroupMember policy lets a
// member add someone else straight through ent exactly when rule.MayInvite,
// the check the group service runs, says he may; an outsider adds nobody,
// and a row never starts above the role member.
func TestGroupInviterForms(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		c := dbtest.Open(t, b).Client
		for i, mode := range []group.JoinMode{group.JoinModeOpen, group.JoinModeApproval, group.JoinModeInviteOnly} {
			f := newGroupFixture(t, c, mode, fmt.Sprintf("m%d", i))
			invite := func(actor int, role groupmember.Role) error {
				return f.as(t, actor, func(ctx context.Context, c *ent.Client) error {
					return c.GroupMember.Create().SetGroupID(f.g.ID).SetUserID(f.outsider).SetRole(role).Exec(ctx)
				})
			}
			inviters := 0
			for _, m := range f.members {
				err := invite(m.UserID, groupmember.RoleMember)
				if rule.MayInvite(f.g, m) {
					inviters++
					require.NoError(t, err, "%s: a %s invites", mode, m.Role)
				} else {
					require.Error(t, err, "%s: a %s invites nobody", mode, m.Role)
				}
				require.Error(t, invite(m.UserID, groupmember.RoleManager), "%s: nobody adds a manager", mode)
			}
			want := map[group.JoinMode]int{group.JoinModeOpen: 5, group.JoinModeApproval: 5, group.JoinModeInviteOnly: 3}[mode]
			require.Equal(t, want, inviters, "%s: everyone invites, or only the owner and managers in an invite-only group", mode)
			require.False(t, rule.MayInvite(f.g, nil))
			outsider := f.c.User.Create().SetUsername(fmt.Sprintf("m%dother", i)).SetNickname("o").SetPasswordHash("!").
				SetPublicID(30_000_000 + fixtureUsers.Add(1)).SaveX(viewer.SystemContext(context.Background())).ID
			require.Error(t, invite(outsider, groupmember.RoleMember), "%s: an outsider invites nobody", mode)

			// A user adds himself to an open group only, unless he holds a
			// join link of someone who may still invite.
			join := func(token string) error {
				return f.as(t, f.outsider, func(ctx context.Context, c *ent.Client) error {
					if token != "" {
						ctx = rule.WithGroupJoinToken(ctx, token)
					}
					return c.GroupMember.Create().SetGroupID(f.g.ID).SetUserID(f.outsider).Exec(ctx)
				})
			}
			if mode == group.JoinModeOpen {
				require.NoError(t, join(""), "anyone joins an open group")
			} else {
				require.Error(t, join(""), "%s: nobody joins without a link", mode)
			}
			exp := time.Now().Add(time.Hour)
			for _, m := range f.members {
				err := join(rule.GroupJoinToken(f.g.JoinSecret, f.g.ID, m.UserID, exp))
				if rule.MayInvite(f.g, m) {
					require.NoError(t, err, "%s: a link of a %s", mode, m.Role)
				} else {
					require.Error(t, err, "%s: a link of a %s", mode, m.Role)
				}
			}
			if mode != group.JoinModeOpen {
				expired := rule.GroupJoinToken(f.g.JoinSecret, f.g.ID, f.g.OwnerID, time.Now().Add(-time.Hour))
				require.Error(t, join(expired), "%s: an expired link", mode)
				require.Error(t, join(rule.GroupJoinToken("other", f.g.ID, f.g.OwnerID, exp)), "%s: a forged link", mode)
			}
		}
	})
}

// TestGroupWrites: the group's managers edit it, only its owner dissolves
// it or hands it over.
func TestGroupWrites(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		f := newGroupFixture(t, dbtest.Open(t, b).Client, group.JoinModeApproval, "")
		for _, m := range f.members {
			rename := f.as(t, m.UserID, func(ctx context.Context, c *ent.Client) error {
				return c.Group.UpdateOneID(f.g.ID).SetName("renamed").Exec(ctx)
			})
			handOver := f.as(t, m.UserID, func(ctx context.Context, c *ent.Client) error {
				return c.Group.UpdateOneID(f.g.ID).SetOwnerID(m.UserID).Exec(ctx)
			})
			dissolve := f.as(t, m.UserID, func(ctx context.Context, c *ent.Client) error {
				return c.Group.DeleteOneID(f.g.ID).Exec(ctx)
			})
			if rule.IsGroupManager(m.Role) {
				require.NoError(t, rename, "a %s renames", m.Role)
			} else {
				require.True(t, ent.IsNotFound(rename), "a member renames nothing: %v", rename)
			}
			if m.Role == groupmember.RoleOwner {
				require.NoError(t, handOver)
				require.NoError(t, dissolve)
			} else {
				require.True(t, ent.IsNotFound(handOver), "a %s hands nothing over: %v", m.Role, handOver)
				require.True(t, ent.IsNotFound(dissolve), "a %s dissolves nothing: %v", m.Role, dissolve)
			}
		}
	})
}
