package rule_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/notice"
	"github.com/parley-im/parley/ent/rule"
	"github.com/parley-im/parley/ent/user"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/platform/dbtest"
)

// socialFixture is a small contact book written as the system. Alice and
// Bob are friends: Bob agreed to Alice's application, and each has his row.
// Erin agreed to Alice's application too, but no rows are written yet, as
// between the agreement and the rows it allows. Carol applied to Alice,
// who has not answered, and to Bob, who refused. Dave is an administrator.
// Alice and Bob each have a session.
type socialFixture struct {
	c                             *ent.Client
	alice, bob, carol, erin, dave int
	// aliceBob is Alice's row of her friendship with Bob, bobAlice his.
	aliceBob, bobAlice int
	// aliceSession and bobSession are their devices.
	aliceSession, bobSession int
	// Alice's application to Bob (agreed), Carol's to Alice (pending) and
	// to Bob (refused), and a system notice to Bob.
	applyBob, carolApply, carolRefused, systemToBob int
}

// newSocialFixture writes the contact book of socialFixture on c.
func newSocialFixture(t *testing.T, c *ent.Client) socialFixture {
	t.Helper()
	sys := viewer.SystemContext(context.Background())
	f := socialFixture{c: c}
	f.alice, f.bob, f.carol, f.erin = newUser(t, c, "alice"), newUser(t, c, "bob"), newUser(t, c, "carol"), newUser(t, c, "erin")
	f.dave = newUser(t, c, "dave")
	c.User.UpdateOneID(f.dave).SetRole(user.RoleAdmin).ExecX(sys)

	apply := func(from, to int, op notice.Operation) int {
		return c.Notice.Create().SetType(notice.TypeFriendApply).SetFromID(from).SetToID(to).SetOperation(op).SaveX(sys).ID
	}
	f.applyBob = apply(f.alice, f.bob, notice.OperationAgreed)
	apply(f.alice, f.erin, notice.OperationAgreed)
	f.carolApply = apply(f.carol, f.alice, notice.OperationNotOperated)
	f.carolRefused = apply(f.carol, f.bob, notice.OperationRefused)
	f.systemToBob = c.Notice.Create().SetType(notice.TypeSystem).SetToID(f.bob).SaveX(sys).ID
	// An agreed request of another kind is no consent to a friendship.
	c.Notice.Create().SetType(notice.TypeGroupApply).SetFromID(f.carol).SetToID(f.erin).SetOperation(notice.OperationAgreed).ExecX(sys)

	f.aliceBob = c.Friendship.Create().SetUserID(f.alice).SetFriendID(f.bob).SaveX(sys).ID
	f.bobAlice = c.Friendship.Create().SetUserID(f.bob).SetFriendID(f.alice).SaveX(sys).ID

	session := func(uid int) int {
		return c.Session.Create().SetUserID(uid).SetExpiresAt(time.Now().Add(time.Hour)).SaveX(sys).ID
	}
	f.aliceSession, f.bobSession = session(f.alice), session(f.bob)
	return f
}

// TestUserPolicy: profiles are public, to anonymous requests too; a user
// edits his own profile and no one else's, but never his role, account
// state or membership; an admin edits anyone, those fields included; a
// user creates only sub-users of his own, an admin any account.
func TestUserPolicy(t *testing.T) {
	dbtest.EachClient(t, func(t *testing.T, c *ent.Client, sys context.Context) {
		f := newSocialFixture(t, c)
		all := c.User.Query().IDsX(sys)
		require.Len(t, all, 5)
		runReads(t, readerOf(c.User.Query, c.User.Get), all, []readCase{
			{name: "anonymous reads every profile", v: anonymous, want: all},
			{name: "a stranger reads every profile", v: signedIn(f.carol), want: all},
			{name: "an admin reads every profile", v: asAdmin(f.dave), want: all},
		})

		rename := func(id int) func(context.Context, *ent.Client) error {
			return func(ctx context.Context, c *ent.Client) error {
				return c.User.UpdateOneID(id).SetNickname("renamed").Exec(ctx)
			}
		}
		update := func(id int, set func(*ent.UserUpdateOne)) func(context.Context, *ent.Client) error {
			return func(ctx context.Context, c *ent.Client) error {
				u := c.User.UpdateOneID(id)
				set(u)
				return u.Exec(ctx)
			}
		}
		promote := func(u *ent.UserUpdateOne) { u.SetRole(user.RoleAdmin) }
		disable := func(u *ent.UserUpdateOne) { u.SetAccountState(user.AccountStateDisabled) }
		member := func(u *ent.UserUpdateOne) { u.SetIsMember(true) }
		create := func(parent int, set func(*ent.UserCreate)) func(context.Context, *ent.Client) error {
			return func(ctx context.Context, c *ent.Client) error {
				n := fixtureUsers.Add(1)
				u := c.User.Create().SetUsername(fmt.Sprintf("sub%d", n)).
					SetPasswordHash("!").SetPublicID(30_000_000 + n)
				if parent != 0 {
					u.SetParentID(parent)
				}
				if set != nil {
					set(u)
				}
				return u.Exec(ctx)
			}
		}
		runWrites(t, c, []writeCase{
			{name: "a user edits himself", v: signedIn(f.alice), write: rename(f.alice), want: allowed},
			{name: "a user edits no one else", v: signedIn(f.alice), write: rename(f.bob), want: hidden},
			{name: "a friend edits no one else", v: signedIn(f.bob), write: rename(f.alice), want: hidden},
			{name: "a user deletes no one else", v: signedIn(f.carol), write: func(ctx context.Context, c *ent.Client) error {
				return c.User.DeleteOneID(f.alice).Exec(ctx)
			}, want: hidden},
			{name: "an anonymous request edits nobody", v: anonymous, write: rename(f.alice), want: signIn},
			{name: "an admin edits anyone", v: asAdmin(f.dave), write: rename(f.bob), want: allowed},
			{name: "a user sets not his own role", v: signedIn(f.alice), write: update(f.alice, promote), want: denied},
			{name: "a user sets not his own account state", v: signedIn(f.alice), write: update(f.alice, disable), want: denied},
			{name: "a user sets not his own membership", v: signedIn(f.alice), write: update(f.alice, member), want: denied},
			{name: "an admin sets roles", v: asAdmin(f.dave), write: update(f.bob, promote), want: allowed},
			{name: "an admin sets account states", v: asAdmin(f.dave), write: update(f.bob, disable), want: allowed},
			{name: "an admin sets memberships", v: asAdmin(f.dave), write: update(f.bob, member), want: allowed},
			{name: "a bulk edit reaches only the user himself", v: signedIn(f.carol), write: func(ctx context.Context, c *ent.Client) error {
				n, err := c.User.Update().SetSign("mine").Save(ctx)
				if err == nil && n != 1 {
					t.Errorf("a bulk edit reached %d users", n)
				}
				return err
			}, want: allowed},
			{name: "a user opens a sub-user of his own", v: signedIn(f.alice), write: create(f.alice, nil), want: allowed},
			{name: "a user opens no sub-user of another", v: signedIn(f.alice), write: create(f.bob, nil), want: denied},
			{name: "a user opens no account without a parent", v: signedIn(f.alice), write: create(0, nil), want: denied},
			{name: "an admin opens accounts", v: asAdmin(f.dave), write: create(0, nil), want: allowed},
			{name: "an anonymous request opens no account", v: anonymous, write: create(0, nil), want: signIn},
			{
				name: "a user opens no sub-user that is an admin", v: signedIn(f.alice),
				write: create(f.alice, func(u *ent.UserCreate) { u.SetRole(user.RoleAdmin) }), want: denied,
			},
			{
				name: "a user opens no sub-user that is a member", v: signedIn(f.alice),
				write: create(f.alice, func(u *ent.UserCreate) { u.SetIsMember(true) }), want: denied,
			},
		})
	})
}

// TestSessionPolicy: a user reads, revokes and deletes his own sessions
// only, admins included; nobody opens one through ent but the sign-in code,
// which writes as the system.
func TestSessionPolicy(t *testing.T) {
	dbtest.EachClient(t, func(t *testing.T, c *ent.Client, sys context.Context) {
		f := newSocialFixture(t, c)
		all := []int{f.aliceSession, f.bobSession}
		runReads(t, readerOf(c.Session.Query, c.Session.Get), all, []readCase{
			{name: "a user reads his own", v: signedIn(f.alice), want: []int{f.aliceSession}},
			{name: "his friend reads his own", v: signedIn(f.bob), want: []int{f.bobSession}},
			{name: "a user without sessions reads none", v: signedIn(f.carol), want: nil},
			{name: "an admin reads only his own", v: asAdmin(f.dave), want: nil},
			{name: "an anonymous request reads none", v: anonymous, err: rule.ErrNoViewer},
		})

		open := func(uid int) func(context.Context, *ent.Client) error {
			return func(ctx context.Context, c *ent.Client) error {
				return c.Session.Create().SetUserID(uid).SetExpiresAt(time.Now().Add(time.Hour)).Exec(ctx)
			}
		}
		revoke := func(id int) func(context.Context, *ent.Client) error {
			return func(ctx context.Context, c *ent.Client) error {
				return c.Session.UpdateOneID(id).SetRevokedAt(time.Now()).Exec(ctx)
			}
		}
		remove := func(id int) func(context.Context, *ent.Client) error {
			return func(ctx context.Context, c *ent.Client) error { return c.Session.DeleteOneID(id).Exec(ctx) }
		}
		runWrites(t, c, []writeCase{
			{name: "a user opens no session, not even his own", v: signedIn(f.alice), write: open(f.alice), want: denied},
			{name: "an admin opens no session", v: asAdmin(f.dave), write: open(f.dave), want: denied},
			{name: "an anonymous request opens no session", v: anonymous, write: open(f.alice), want: signIn},
			{name: "a user revokes his own", v: signedIn(f.alice), write: revoke(f.aliceSession), want: allowed},
			{name: "a user revokes no one else's", v: signedIn(f.alice), write: revoke(f.bobSession), want: hidden},
			{name: "an admin revokes no one else's", v: asAdmin(f.dave), write: revoke(f.bobSession), want: hidden},
			{name: "a user deletes his own", v: signedIn(f.bob), write: remove(f.bobSession), want: allowed},
			{name: "a user deletes no one else's", v: signedIn(f.bob), write: remove(f.aliceSession), want: hidden},
			{name: "an anonymous request revokes nothing", v: anonymous, write: revoke(f.aliceSession), want: signIn},
		})
	})
}

// TestFriendshipPolicy: each side reads and edits only his own row of a
// friendship, and either side deletes both; rows are created between two
// users only by one of them after the other agreed to his application, or
// by an admin (rule.IsConsentedFriendship).
func TestFriendshipPolicy(t *testing.T) {
	dbtest.EachClient(t, func(t *testing.T, c *ent.Client, sys context.Context) {
		f := newSocialFixture(t, c)
		all := []int{f.aliceBob, f.bobAlice}
		runReads(t, readerOf(c.Friendship.Query, c.Friendship.Get), all, []readCase{
			{name: "a side reads his own row", v: signedIn(f.alice), want: []int{f.aliceBob}},
			{name: "the other side reads his", v: signedIn(f.bob), want: []int{f.bobAlice}},
			{name: "a stranger reads none", v: signedIn(f.carol), want: nil},
			{name: "an admin reads only his own", v: asAdmin(f.dave), want: nil},
			{name: "an anonymous request reads none", v: anonymous, err: rule.ErrNoViewer},
		})

		befriend := func(uid, friend int) func(context.Context, *ent.Client) error {
			return func(ctx context.Context, c *ent.Client) error {
				return c.Friendship.Create().SetUserID(uid).SetFriendID(friend).Exec(ctx)
			}
		}
		remark := func(id int) func(context.Context, *ent.Client) error {
			return func(ctx context.Context, c *ent.Client) error {
				return c.Friendship.UpdateOneID(id).SetRemark("dear").SetPinned(true).Exec(ctx)
			}
		}
		remove := func(id int) func(context.Context, *ent.Client) error {
			return func(ctx context.Context, c *ent.Client) error { return c.Friendship.DeleteOneID(id).Exec(ctx) }
		}
		runWrites(t, c, []writeCase{
			{name: "the applicant writes his row once agreed", v: signedIn(f.alice), write: befriend(f.alice, f.erin), want: allowed},
			{name: "the applicant writes the other side's row", v: signedIn(f.alice), write: befriend(f.erin, f.alice), want: allowed},
			{name: "the one who agreed writes his row", v: signedIn(f.erin), write: befriend(f.erin, f.alice), want: allowed},
			{name: "the one who agreed writes the applicant's row", v: signedIn(f.erin), write: befriend(f.alice, f.erin), want: allowed},
			{name: "a third user writes no row of others", v: signedIn(f.bob), write: befriend(f.alice, f.erin), want: denied},
			{name: "no row without an application", v: signedIn(f.erin), write: befriend(f.erin, f.bob), want: denied},
			{name: "no row on a pending application, for the applicant", v: signedIn(f.carol), write: befriend(f.carol, f.alice), want: denied},
			{name: "no row on a pending application, for its recipient", v: signedIn(f.alice), write: befriend(f.alice, f.carol), want: denied},
			{name: "no row on a refused application", v: signedIn(f.carol), write: befriend(f.carol, f.bob), want: denied},
			{name: "no row on another kind of agreed request", v: signedIn(f.carol), write: befriend(f.carol, f.erin), want: denied},
			{name: "an admin befriends anyone", v: asAdmin(f.dave), write: befriend(f.carol, f.erin), want: allowed},
			{name: "an anonymous request befriends nobody", v: anonymous, write: befriend(f.alice, f.erin), want: signIn},

			{name: "a side edits his own row", v: signedIn(f.alice), write: remark(f.aliceBob), want: allowed},
			{name: "a side edits not the other's row", v: signedIn(f.alice), write: remark(f.bobAlice), want: hidden},
			{name: "a stranger edits no row", v: signedIn(f.carol), write: remark(f.aliceBob), want: hidden},
			{name: "an admin edits any row", v: asAdmin(f.dave), write: remark(f.aliceBob), want: allowed},

			{name: "a side deletes his own row", v: signedIn(f.alice), write: remove(f.aliceBob), want: allowed},
			{name: "a side deletes the other's row", v: signedIn(f.alice), write: remove(f.bobAlice), want: allowed},
			{name: "a stranger deletes no row", v: signedIn(f.carol), write: remove(f.bobAlice), want: hidden},
			{name: "an admin deletes any row", v: asAdmin(f.dave), write: remove(f.aliceBob), want: allowed},
			{name: "a bulk delete reaches only the viewer's friendships", v: signedIn(f.bob), write: func(ctx context.Context, c *ent.Client) error {
				n, err := c.Friendship.Delete().Exec(ctx)
				if err == nil && n != 2 {
					t.Errorf("a bulk delete removed %d rows", n)
				}
				return err
			}, want: allowed},
			{name: "an anonymous request deletes nothing", v: anonymous, write: remove(f.aliceBob), want: signIn},

			{
				name: "a user does not consent for the other side", v: signedIn(f.carol),
				write: func(ctx context.Context, c *ent.Client) error {
					// Carol writes her application to Erin as already agreed,
					// which the Notice policy lets her, then the rows it allows.
					err := c.Notice.Create().SetType(notice.TypeFriendApply).SetFromID(f.carol).SetToID(f.erin).
						SetOperation(notice.OperationAgreed).Exec(ctx)
					if err != nil {
						return err
					}
					return befriend(f.carol, f.erin)(ctx, c)
				},
				want: refused,
			},
			{
				name: "a user does not settle his own application", v: signedIn(f.carol),
				write: func(ctx context.Context, c *ent.Client) error {
					err := c.Notice.UpdateOneID(f.carolApply).SetOperation(notice.OperationAgreed).Exec(ctx)
					if err != nil {
						return err
					}
					return befriend(f.carol, f.alice)(ctx, c)
				},
				want: refused,
			},
			{
				name: "a removed friend does not come back on the old consent", v: signedIn(f.bob),
				write: func(ctx context.Context, c *ent.Client) error {
					// Alice ends the friendship; Bob writes both rows again.
					actx := viewer.NewContext(ctx, signedIn(f.alice))
					if _, err := c.Friendship.Delete().Exec(actx); err != nil {
						return err
					}
					if err := befriend(f.bob, f.alice)(ctx, c); err != nil {
						return err
					}
					return befriend(f.alice, f.bob)(ctx, c)
				},
				want: refused,
			},
		})
	})
}

// TestNoticePolicy: a notice is read by its sender and its recipient only;
// the recipient operates it (settles, marks read, deletes); a user sends
// notices from himself only, system notices are written as the system.
func TestNoticePolicy(t *testing.T) {
	dbtest.EachClient(t, func(t *testing.T, c *ent.Client, sys context.Context) {
		f := newSocialFixture(t, c)
		all := c.Notice.Query().IDsX(sys)
		runReads(t, readerOf(c.Notice.Query, c.Notice.Get), all, []readCase{
			{name: "a recipient reads what he got, the system's too", v: signedIn(f.bob),
				want: []int{f.applyBob, f.carolRefused, f.systemToBob}},
			{name: "a sender reads what he sent", v: signedIn(f.carol),
				want: c.Notice.Query().Where(notice.Or(notice.FromID(f.carol), notice.ToID(f.carol))).IDsX(sys)},
			{name: "both ends of a notice read it", v: signedIn(f.alice),
				want: c.Notice.Query().Where(notice.Or(notice.FromID(f.alice), notice.ToID(f.alice))).IDsX(sys)},
			{name: "an admin reads only his own", v: asAdmin(f.dave), want: nil},
			{name: "an anonymous request reads none", v: anonymous, err: rule.ErrNoViewer},
		})

		send := func(from, to int) func(context.Context, *ent.Client) error {
			return func(ctx context.Context, c *ent.Client) error {
				n := c.Notice.Create().SetType(notice.TypeFriendApply).SetToID(to).SetOperation(notice.OperationNotOperated)
				if from != 0 {
					n.SetFromID(from)
				}
				return n.Exec(ctx)
			}
		}
		settle := func(id int) func(context.Context, *ent.Client) error {
			return func(ctx context.Context, c *ent.Client) error {
				return c.Notice.UpdateOneID(id).SetOperation(notice.OperationAgreed).SetRead(true).Exec(ctx)
			}
		}
		markRead := func(id int) func(context.Context, *ent.Client) error {
			return func(ctx context.Context, c *ent.Client) error {
				return c.Notice.UpdateOneID(id).SetRead(true).Exec(ctx)
			}
		}
		remove := func(id int) func(context.Context, *ent.Client) error {
			return func(ctx context.Context, c *ent.Client) error { return c.Notice.DeleteOneID(id).Exec(ctx) }
		}
		runWrites(t, c, []writeCase{
			{name: "a user sends from himself", v: signedIn(f.carol), write: send(f.carol, f.erin), want: allowed},
			{name: "a user sends not in another's name", v: signedIn(f.carol), write: send(f.bob, f.erin), want: denied},
			{name: "a user sends no system notice", v: signedIn(f.carol), write: send(0, f.erin), want: denied},
			{name: "an admin sends not in another's name", v: asAdmin(f.dave), write: send(f.bob, f.erin), want: denied},
			{name: "an anonymous request sends nothing", v: anonymous, write: send(f.carol, f.erin), want: signIn},

			{name: "the recipient settles a request", v: signedIn(f.alice), write: settle(f.carolApply), want: allowed},
			{name: "the recipient marks a system notice read", v: signedIn(f.bob), write: markRead(f.systemToBob), want: allowed},
			{name: "the recipient deletes a notice", v: signedIn(f.bob), write: remove(f.systemToBob), want: allowed},
			{name: "a third user settles nothing", v: signedIn(f.erin), write: settle(f.carolApply), want: hidden},
			{name: "a third user deletes nothing", v: signedIn(f.erin), write: remove(f.carolApply), want: hidden},
			{name: "an admin settles nothing of others", v: asAdmin(f.dave), write: settle(f.carolApply), want: hidden},
			{name: "an anonymous request settles nothing", v: anonymous, write: settle(f.carolApply), want: signIn},
			{
				name: "the sender does not settle his own request", v: signedIn(f.carol), write: settle(f.carolApply), want: refused,
			},
			{
				name: "the sender does not send a request already agreed", v: signedIn(f.carol),
				write: func(ctx context.Context, c *ent.Client) error {
					return c.Notice.Create().SetType(notice.TypeFriendApply).SetFromID(f.carol).SetToID(f.erin).
						SetOperation(notice.OperationAgreed).Exec(ctx)
				},
				want: denied,
			},
		})
	})
}

// TestCanSeeContact: a user's email and phone are seen by himself, by
// those he is friends with (who hold a row naming him), by admins and by
// the system; not by strangers, not by someone whose application is still
// pending, and not by anonymous requests.
func TestCanSeeContact(t *testing.T) {
	dbtest.EachClient(t, func(t *testing.T, c *ent.Client, sys context.Context) {
		f := newSocialFixture(t, c)
		for _, tc := range []struct {
			name   string
			ctx    context.Context
			target int
			want   bool
		}{
			{"himself", viewerContext(signedIn(f.alice)), f.alice, true},
			{"a friend", viewerContext(signedIn(f.alice)), f.bob, true},
			{"the friend's side", viewerContext(signedIn(f.bob)), f.alice, true},
			{"agreed but no rows yet", viewerContext(signedIn(f.erin)), f.alice, false},
			{"a pending applicant", viewerContext(signedIn(f.carol)), f.alice, false},
			{"the recipient of a pending application", viewerContext(signedIn(f.alice)), f.carol, false},
			{"a stranger", viewerContext(signedIn(f.erin)), f.bob, false},
			{"an admin", viewerContext(asAdmin(f.dave)), f.carol, true},
			{"the system", sys, f.carol, true},
			{"an anonymous request", viewerContext(anonymous), f.alice, false},
			{"a viewer naming nobody", viewerContext(&viewer.Viewer{}), f.alice, false},
		} {
			got, err := rule.CanSeeContact(tc.ctx, c, tc.target)
			require.NoError(t, err, tc.name)
			require.Equal(t, tc.want, got, tc.name)
		}

		// Once a side deletes his row, he no longer sees the other's
		// contact fields; the other, who kept his row, still does.
		c.Friendship.DeleteOneID(f.aliceBob).ExecX(sys)
		got, err := rule.CanSeeContact(viewerContext(signedIn(f.alice)), c, f.bob)
		require.NoError(t, err)
		require.False(t, got, "after deleting her row")
		got, err = rule.CanSeeContact(viewerContext(signedIn(f.bob)), c, f.alice)
		require.NoError(t, err)
		require.True(t, got, "the side that kept his row")
	})
}
