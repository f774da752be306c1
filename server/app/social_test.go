package app_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/go-chi/chi/v5/middleware"
	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/ent/user"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/auth"
	"github.com/parley-im/parley/internal/files/filestest"
	"github.com/parley-im/parley/internal/platform/dbtest"
	"github.com/parley-im/parley/internal/verify"
	"github.com/parley-im/parley/server/app"
	"github.com/parley-im/parley/server/apptest"
)

// socialServer is a server whose SMS codes land in a recorder and whose SQL
// statements issued for requests are counted.
type socialServer struct {
	*server
	codes      *verify.Recorder
	statements atomic.Int64
}

func newSocialServer(t *testing.T, b dbtest.Backend, options ...func(*app.Config)) *socialServer {
	cfg := apptest.Config(t, b.URL(t))
	for _, o := range options {
		o(&cfg)
	}
	s := &socialServer{codes: &verify.Recorder{}}
	cfg.CodeSender = s.codes
	cfg.TraceSQL = func(ctx context.Context, _ ...any) {
		if middleware.GetReqID(ctx) != "" {
			s.statements.Add(1)
		}
	}
	s.server = start(t, cfg)
	return s
}

// socialKit is newSocialServer with the test configuration, for eachKit.
func socialKit(t *testing.T, b dbtest.Backend) *socialServer { return newSocialServer(t, b) }

// admin makes a an administrator as the server's admin subcommand does
// (auth.SetRole); no GraphQL operation makes one.
func (s *server) admin(a account) {
	s.T.Helper()
	id := intID(a.ID)
	ctx := context.Background()
	u, err := s.App.Client.User.Get(viewer.SystemContext(ctx), id)
	require.NoError(s.T, err)
	_, _, err = auth.SetRole(ctx, s.App.Client, s.App.Events, u.Username, true)
	require.NoError(s.T, err)
}

// newAdmin registers name and makes him an administrator.
func (s *server) newAdmin(name string) account {
	s.T.Helper()
	a := s.Register(name, nil)
	s.admin(a)
	return a
}

const applyMutation = `mutation($in: ApplyFriendInput!) { applyFriend(input: $in) { id postscript operation type from { id } to { id } } }`

type noticeOut struct {
	ID, Postscript, Operation, Type string
	From, To                        struct{ ID string }
}

// apply sends a friend application from a to b.
func (s *server) apply(a, b account, ps string) noticeOut {
	s.T.Helper()
	var out struct{ ApplyFriend noticeOut }
	s.OK(a.Token, applyMutation, map[string]any{"in": map[string]any{"userId": b.ID, "postscript": ps}}, &out)
	return out.ApplyFriend
}

// befriend makes a and b friends through the API.
func (s *server) befriend(a, b account) {
	s.T.Helper()
	n := s.apply(a, b, "hi")
	s.OK(b.Token, `mutation($id: ID!) { acceptFriendApplication(id: $id) { id } }`, map[string]any{"id": n.ID}, nil)
}

func (s *server) friendIDs(a account) []string {
	s.T.Helper()
	type friendship struct{ Friend struct{ ID string } }
	var out struct {
		Friends apptest.Connection[friendship]
	}
	s.OK(a.Token, `{ friends(first: 50) { edges { node { friend { id } } } } }`, nil, &out)
	return apptest.Map(out.Friends.Nodes(), func(f friendship) string { return f.Friend.ID })
}

func (s *server) settings(admin account, in map[string]any) {
	s.T.Helper()
	s.OK(admin.Token, `mutation($in: SettingsInput!) { updateSettings(input: $in) { appName } }`, map[string]any{"in": in}, nil)
}

// noticeEvent is one event of the notices subscription.
type noticeEvent struct {
	Cursor string
	Kind   string
	Node   *struct {
		ID, Postscript, Operation, Type string
	}
}

const noticesSubscription = `subscription($after: String) { notices(after: $after) { cursor kind node { id ... on Notice { postscript operation type } } } }`

// nextNotice reads the next event of the notices subscription.
func nextNotice(c *apptest.Conn) noticeEvent {
	c.T.Helper()
	ev, typ := apptest.Next[noticeEvent](c, "notices")
	require.Equal(c.T, "next", typ)
	return ev
}

// expectNotice reads the next notice event of c, checks its kind and
// operation, and returns it.
func expectNotice(c *apptest.Conn, kind, operation string) noticeEvent {
	c.T.Helper()
	ev := nextNotice(c)
	require.Equal(c.T, kind, ev.Kind)
	require.Equal(c.T, operation, ev.Node.Operation)
	return ev
}

func TestFriendApplicationFlow(t *testing.T) {
	eachKit(t, socialKit, func(t *testing.T, s *socialServer) {
		alice := s.Register("alice", map[string]any{"email": "alice@example.com"})
		bob := s.Register("bob", nil)

		ws := s.MustDial(bob.Token)
		ws.Subscribe("n", noticesSubscription, nil)
		s.WaitSubscriptions(1)

		// Apply: bob is told live.
		first := s.apply(alice, bob, "I am Alice")
		require.Equal(t, "not_operated", first.Operation)
		require.Equal(t, "friend_apply", first.Type)
		ev := nextNotice(ws)
		require.Equal(t, "NOTICE_CREATED", ev.Kind)
		require.Equal(t, first.ID, ev.Node.ID)
		require.Equal(t, "I am Alice", ev.Node.Postscript)

		// Applying again renews the pending application instead of stacking.
		again := s.apply(alice, bob, "it is me again")
		require.Equal(t, first.ID, again.ID)
		ev = nextNotice(ws)
		require.Equal(t, "NOTICE_UPDATED", ev.Kind)
		require.Equal(t, "it is me again", ev.Node.Postscript)

		var pending struct {
			Me                 struct{ UnhandledApplicationCount *int }
			FriendApplications struct {
				TotalCount int
				Edges      []struct {
					Node struct {
						ID, Postscript string
						From           struct{ Username string }
					}
				}
			}
		}
		s.OK(bob.Token, `{ me { unhandledApplicationCount } friendApplications(operation: not_operated, first: 10) { totalCount edges { node { id postscript from { username } } } } }`, nil, &pending)
		require.Equal(t, 1, *pending.Me.UnhandledApplicationCount)
		require.Equal(t, 1, pending.FriendApplications.TotalCount)
		require.Equal(t, "alice", pending.FriendApplications.Edges[0].Node.From.Username)
		// The count is the viewer's own: it reads null on someone else.
		var other struct {
			User struct{ UnhandledApplicationCount *int }
		}
		s.OK(alice.Token, `query($id: ID!) { user(id: $id) { unhandledApplicationCount } }`, map[string]any{"id": bob.ID}, &other)
		require.Nil(t, other.User.UnhandledApplicationCount)

		// Before they are friends bob cannot see alice's email.
		var card struct {
			User struct {
				Email    *string
				IsFriend bool
				Remark   *string
			}
		}
		s.OK(bob.Token, `query($id: ID!) { user(id: $id) { email isFriend remark } }`, map[string]any{"id": alice.ID}, &card)
		require.Nil(t, card.User.Email)
		require.False(t, card.User.IsFriend)

		// Alice watches her own notices from here, resuming later.
		aws := s.MustDial(alice.Token)
		aws.Subscribe("n", noticesSubscription, nil)
		s.WaitSubscriptions(2)

		var accepted struct {
			AcceptFriendApplication struct {
				Friend struct{ ID string }
				Remark string
			}
		}
		s.OK(bob.Token, `mutation($id: ID!) { acceptFriendApplication(id: $id) { friend { id } remark } }`, map[string]any{"id": first.ID}, &accepted)
		require.Equal(t, alice.ID, accepted.AcceptFriendApplication.Friend.ID)

		// Alice sees her application agreed, then an acceptance notice.
		ev = expectNotice(aws, "NOTICE_UPDATED", "agreed")
		ev = nextNotice(aws)
		require.Equal(t, "NOTICE_CREATED", ev.Kind)
		require.Equal(t, "friend_accepted", ev.Node.Type)

		require.Equal(t, []string{bob.ID}, s.friendIDs(alice))
		require.Equal(t, []string{alice.ID}, s.friendIDs(bob))
		s.OK(bob.Token, `query($id: ID!) { user(id: $id) { email isFriend remark } }`, map[string]any{"id": alice.ID}, &card)
		require.Equal(t, "alice@example.com", *card.User.Email)
		require.True(t, card.User.IsFriend)
		require.Equal(t, "", *card.User.Remark)

		// Handled once only; friends do not apply again.
		r := s.Do(bob.Token, `mutation($id: ID!) { acceptFriendApplication(id: $id) { id } }`, map[string]any{"id": first.ID})
		require.Equal(t, "CONFLICT", r.Code())
		require.Equal(t, "ALREADY_HANDLED", r.Reason())
		r = s.Do(alice.Token, applyMutation, map[string]any{"in": map[string]any{"userId": bob.ID}})
		require.Equal(t, "ALREADY_FRIENDS", r.Reason())

		// Remark and pin are bob's own.
		var upd struct {
			UpdateFriend struct {
				Remark string
				Pinned bool
			}
		}
		s.OK(bob.Token, `mutation($id: ID!) { updateFriend(userId: $id, input: {remark: "Ally", pinned: true}) { remark pinned } }`, map[string]any{"id": alice.ID}, &upd)
		require.Equal(t, "Ally", upd.UpdateFriend.Remark)
		require.True(t, upd.UpdateFriend.Pinned)
		var count struct {
			User struct {
				FriendCount int
				Remark      *string
			}
		}
		s.OK(alice.Token, `query($id: ID!) { user(id: $id) { friendCount remark } }`, map[string]any{"id": bob.ID}, &count)
		require.Equal(t, 1, count.User.FriendCount)
		require.Equal(t, "", *count.User.Remark)

		// Resume: alice's stream replays what she missed.
		var resumed struct{ Cursor string }
		resumed.Cursor = ev.Cursor
		aws.Close()
		third := s.Register("carol", nil)
		n := s.apply(third, alice, "hello from carol")
		aws2 := s.MustDial(alice.Token)
		aws2.Subscribe("n", noticesSubscription, map[string]any{"after": resumed.Cursor})
		ev = nextNotice(aws2)
		require.Equal(t, n.ID, ev.Node.ID)

		// Delete: both sides lose the friendship.
		var del struct{ DeleteFriend string }
		s.OK(alice.Token, `mutation($id: ID!) { deleteFriend(userId: $id) }`, map[string]any{"id": bob.ID}, &del)
		require.Equal(t, bob.ID, del.DeleteFriend)
		require.Empty(t, s.friendIDs(alice))
		require.Empty(t, s.friendIDs(bob))
		r = s.Do(alice.Token, `mutation($id: ID!) { deleteFriend(userId: $id) }`, map[string]any{"id": bob.ID})
		require.Equal(t, "NOT_FRIENDS", r.Reason())
	})
}

func TestFriendRules(t *testing.T) {
	eachKit(t, socialKit, func(t *testing.T, s *socialServer) {
		root := s.newAdmin("root")
		a := s.Register("anna", map[string]any{"phone": "+8613800000001"})
		bo := s.Register("boris", nil)
		c := s.Register("chen", nil)
		d := s.Register("dora", nil)
		s.OK(root.Token, `mutation($id: ID!) { updateUser(id: $id, input: {accountState: disabled}) { accountState } }`, map[string]any{"id": d.ID}, nil)

		toBoris := s.apply(a, bo, "")
		cases := []struct {
			name, token, query string
			vars               map[string]any
			code, reason       string
		}{
			{"anonymous", "", applyMutation, map[string]any{"in": map[string]any{"userId": bo.ID}}, "UNAUTHENTICATED", "SIGN_IN_REQUIRED"},
			{"self", a.Token, applyMutation, map[string]any{"in": map[string]any{"userId": a.ID}}, "BAD_USER_INPUT", "CANNOT_FRIEND_SELF"},
			{"nobody", a.Token, applyMutation, map[string]any{"in": map[string]any{}}, "BAD_USER_INPUT", "USER_REQUIRED"},
			{"unknown user", a.Token, applyMutation, map[string]any{"in": map[string]any{"login": "nobody_here"}}, "NOT_FOUND", "NOT_FOUND"},
			{"disabled user", a.Token, applyMutation, map[string]any{"in": map[string]any{"userId": d.ID}}, "FORBIDDEN", "USER_DISABLED"},
			{"postscript too long", a.Token, applyMutation, map[string]any{"in": map[string]any{"userId": c.ID, "postscript": strings.Repeat("x", 257)}}, "BAD_USER_INPUT", "TOO_LONG"},
			{"accept another's application", c.Token, `mutation($id: ID!) { acceptFriendApplication(id: $id) { id } }`, map[string]any{"id": toBoris.ID}, "NOT_FOUND", "NOT_FOUND"},
			{"applicant accepts his own", a.Token, `mutation($id: ID!) { acceptFriendApplication(id: $id) { id } }`, map[string]any{"id": toBoris.ID}, "NOT_FOUND", "NOT_FOUND"},
			{"refuse another's application", c.Token, `mutation($id: ID!) { refuseFriendApplication(id: $id) { id } }`, map[string]any{"id": toBoris.ID}, "NOT_FOUND", "NOT_FOUND"},
			{"bad id", bo.Token, `mutation { acceptFriendApplication(id: "zz") { id } }`, nil, "BAD_USER_INPUT", ""},
			{"remark a stranger", a.Token, `mutation($id: ID!) { updateFriend(userId: $id, input: {remark: "x"}) { id } }`, map[string]any{"id": c.ID}, "NOT_FOUND", "NOT_FRIENDS"},
			{"remark too long", a.Token, `mutation($id: ID!, $r: String) { updateFriend(userId: $id, input: {remark: $r}) { id } }`, nil, "", ""},
			{"delete a stranger", a.Token, `mutation($id: ID!) { deleteFriend(userId: $id) }`, map[string]any{"id": c.ID}, "NOT_FOUND", "NOT_FRIENDS"},
			{"direct add by non-admin", a.Token, `mutation($a: ID!, $b: ID!) { addFriend(userId: $a, friendId: $b) { id } }`, map[string]any{"a": a.ID, "b": c.ID}, "FORBIDDEN", "NOT_ALLOWED"},
			{"friends of anonymous", "", `{ friends(first: 5) { totalCount } }`, nil, "UNAUTHENTICATED", "SIGN_IN_REQUIRED"},
		}
		for _, tc := range cases {
			if tc.code == "" {
				continue // covered below with a friend
			}
			r := s.Do(tc.token, tc.query, tc.vars)
			require.Equal(t, tc.code, r.Code(), "%s: %+v", tc.name, r.Errors)
			if tc.reason != "" {
				require.Equal(t, tc.reason, r.Reason(), tc.name)
			}
		}

		// Refused applications are settled; the applicant may ask again.
		var refused struct{ RefuseFriendApplication struct{ Operation string } }
		s.OK(bo.Token, `mutation($id: ID!) { refuseFriendApplication(id: $id) { operation } }`, map[string]any{"id": toBoris.ID}, &refused)
		require.Equal(t, "refused", refused.RefuseFriendApplication.Operation)
		r := s.Do(bo.Token, `mutation($id: ID!) { acceptFriendApplication(id: $id) { id } }`, map[string]any{"id": toBoris.ID})
		require.Equal(t, "ALREADY_HANDLED", r.Reason())
		renewed := s.apply(a, bo, "please")
		require.NotEqual(t, toBoris.ID, renewed.ID)

		// Applying back to someone who applied first makes friends at once.
		s.apply(bo, a, "")
		require.Equal(t, []string{bo.ID}, s.friendIDs(a))

		r = s.Do(a.Token, `mutation($id: ID!, $r: String) { updateFriend(userId: $id, input: {remark: $r}) { id } }`, map[string]any{"id": bo.ID, "r": strings.Repeat("r", 65)})
		require.Equal(t, "BAD_USER_INPUT", r.Code(), "%+v", r.Errors)

		// Find by login: username, or phone exactly.
		var byPhone struct{ ApplyFriend noticeOut }
		s.OK(c.Token, applyMutation, map[string]any{"in": map[string]any{"login": "+8613800000001"}}, &byPhone)
		require.Equal(t, a.ID, byPhone.ApplyFriend.To.ID)

		// Admins add directly; both are told by a notice.
		s.OK(root.Token, `mutation($a: ID!, $b: ID!) { addFriend(userId: $a, friendId: $b) { id } }`, map[string]any{"a": c.ID, "b": bo.ID}, nil)
		require.Contains(t, s.friendIDs(c), bo.ID)
		var inbox struct {
			Notices struct {
				Edges []struct{ Node struct{ Type string } }
			}
		}
		s.OK(c.Token, `{ notices(first: 5) { edges { node { type } } } }`, nil, &inbox)
		require.Equal(t, "friend_added", inbox.Notices.Edges[0].Node.Type)

		// The add-friend switch is enforced.
		s.settings(root, map[string]any{"addFriend": false})
		r = s.Do(d.Token, applyMutation, map[string]any{"in": map[string]any{"userId": a.ID}})
		require.Equal(t, "UNAUTHENTICATED", r.Code()) // disabled accounts are signed out
		r = s.Do(c.Token, applyMutation, map[string]any{"in": map[string]any{"userId": a.ID}})
		require.Equal(t, "FORBIDDEN", r.Code())
		require.Equal(t, "FEATURE_DISABLED", r.Reason())

		var read struct{ MarkNoticesRead int }
		s.OK(c.Token, `mutation { markNoticesRead }`, nil, &read)
		require.Positive(t, read.MarkNoticesRead)
		var unread struct{ Notices struct{ TotalCount int } }
		s.OK(c.Token, `{ notices(unreadOnly: true) { totalCount } }`, nil, &unread)
		require.Zero(t, unread.Notices.TotalCount)
	})
}

func TestContactBookAndStrangers(t *testing.T) {
	eachKit(t, socialKit, func(t *testing.T, s *socialServer) {
		me := s.Register("myself", nil)
		for _, f := range []struct{ name, nick string }{
			{"cat", "猫猫"}, {"mouse", "小老鼠"}, {"ali", "alice"}, {"bob", "Bob"}, {"num", "123"}, {"zed", "Zed"},
		} {
			u := s.Register(f.name, map[string]any{"nickname": f.nick})
			s.befriend(u, me)
		}
		// A remark wins over the nickname: Zed is filed under A as "Aaron".
		var zed struct{ User struct{ ID string } }
		s.OK(me.Token, `{ user(username: "zed") { id } }`, nil, &zed)
		s.OK(me.Token, `mutation($id: ID!) { updateFriend(userId: $id, input: {remark: "Aaron"}) { id } }`, map[string]any{"id": zed.User.ID}, nil)

		stranger := s.Register("visitor", map[string]any{"nickname": "访客"})
		s.Send(stranger, me, "hello?")

		var out struct {
			ContactBook []struct {
				Initial  string
				Contacts []struct{ DisplayName, Remark string }
			}
			Strangers []struct {
				Initial  string
				Contacts []struct {
					DisplayName string
					User        struct{ Username string }
				}
			}
		}
		s.OK(me.Token, `{ contactBook { initial contacts { displayName remark } } strangers { initial contacts { displayName user { username } } } }`, nil, &out)
		got := map[string][]string{}
		var order []string
		for _, sec := range out.ContactBook {
			order = append(order, sec.Initial)
			for _, c := range sec.Contacts {
				got[sec.Initial] = append(got[sec.Initial], c.DisplayName)
			}
		}
		require.Equal(t, []string{"A", "B", "M", "X", "#"}, order)
		require.Equal(t, []string{"Aaron", "alice"}, got["A"])
		require.Equal(t, []string{"猫猫"}, got["M"])
		require.Equal(t, []string{"小老鼠"}, got["X"])
		require.Equal(t, []string{"123"}, got["#"])
		require.Len(t, out.Strangers, 1)
		require.Equal(t, "F", out.Strangers[0].Initial)
		require.Equal(t, "visitor", out.Strangers[0].Contacts[0].User.Username)
	})
}

// TestContactBookReadsSurnames: a Chinese friend is filed under the
// reading of his surname (曾 is Zeng, not Ceng), sorted within the letter by
// the same reading, and an accented Latin name under its plain letter.
func TestContactBookReadsSurnames(t *testing.T) {
	eachKit(t, socialKit, func(t *testing.T, s *socialServer) {
		me := s.Register("reader", nil)
		for i, nick := range []string{"曾小明", "单田芳", "解缙", "区志航", "仇英", "覃雪梅", "长孙无忌", "张三", "Émile"} {
			s.befriend(s.Register(fmt.Sprintf("friend%d", i), map[string]any{"nickname": nick}), me)
		}
		var out struct {
			ContactBook []struct {
				Initial  string
				Contacts []struct{ DisplayName string }
			}
		}
		s.OK(me.Token, `{ contactBook { initial contacts { displayName } } }`, nil, &out)
		var got []string
		for _, sec := range out.ContactBook {
			for _, c := range sec.Contacts {
				got = append(got, sec.Initial+" "+c.DisplayName)
			}
		}
		require.Equal(t, []string{
			"E Émile", "O 区志航", "Q 覃雪梅", "Q 仇英", "S 单田芳", "X 解缙",
			"Z 曾小明", "Z 张三", "Z 长孙无忌",
		}, got)
	})
}

// TestFriendsOrder: friends page pinned first, then by remark-or-nickname
// in pinyin order (a surname by its reading as a surname), forwards and
// backwards alike, and a remark, a pin or a friend's new nickname moves a
// friend at once.
func TestFriendsOrder(t *testing.T) {
	eachKit(t, socialKit, func(t *testing.T, s *socialServer) {
		me := s.Register("sorter", nil)
		friend := map[string]account{}
		for i, nick := range []string{"张三", "Alice", "曾小明", "bob", "安娜"} {
			friend[nick] = s.Register(fmt.Sprintf("sorted%d", i), map[string]any{"nickname": nick})
			s.befriend(friend[nick], me)
		}
		update := func(nick string, in map[string]any) {
			t.Helper()
			s.OK(me.Token, `mutation($u: ID!, $in: UpdateFriendInput!) { updateFriend(userId: $u, input: $in) { id } }`,
				map[string]any{"u": friend[nick].ID, "in": in}, nil)
		}
		update("bob", map[string]any{"pinned": true})
		update("Alice", map[string]any{"remark": "小白"})

		// names pages through friends two at a time, forwards or
		// backwards, and names each row by its remark or nickname.
		names := func(forwards bool, order string) []string {
			t.Helper()
			type row struct {
				ID, Remark string
				Friend     struct{ Nickname string }
			}
			var all struct{ Friends apptest.Connection[row] }
			s.OK(me.Token, `{ friends(first: 50) { edges { node { id remark friend { nickname } } } } }`, nil, &all)
			name := map[string]string{}
			for _, f := range all.Friends.Nodes() {
				name[f.ID] = cmp.Or(f.Remark, f.Friend.Nickname)
			}
			page := func(args string) pageOf {
				var out struct{ Friends pageOf }
				s.OK(me.Token, `{ friends(`+args+order+`) { pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { id } } } }`, nil, &out)
				return out.Friends
			}
			var got []string
			for _, id := range pageThrough(t, page, 2, len(name), forwards) {
				got = append(got, name[id])
			}
			return got
		}
		check := func(want ...string) {
			t.Helper()
			require.Equal(t, want, names(true, ""), "first: 2")
			require.Equal(t, want, names(false, ""), "last: 2")
		}
		check("bob", "安娜", "小白", "曾小明", "张三")

		// The last page read backwards is the end of the list.
		var last struct {
			Friends apptest.Connection[struct{ Friend struct{ Nickname string } }]
		}
		s.OK(me.Token, `{ friends(last: 2) { edges { node { friend { nickname } } } } }`, nil, &last)
		require.Equal(t, []string{"曾小明", "张三"}, apptest.Map(last.Friends.Nodes(), func(f struct{ Friend struct{ Nickname string } }) string { return f.Friend.Nickname }))

		update("Alice", map[string]any{"remark": "Aaron"})
		check("bob", "Aaron", "安娜", "曾小明", "张三")

		// A friend's new nickname moves him, unless a remark names him.
		const profile = `mutation($in: UpdateProfileInput!) { updateProfile(input: $in) { nickname } }`
		s.OK(friend["张三"].Token, profile, map[string]any{"in": map[string]any{"nickname": "Abel"}}, nil)
		s.OK(friend["Alice"].Token, profile, map[string]any{"in": map[string]any{"nickname": "Zach"}}, nil)
		check("bob", "Aaron", "Abel", "安娜", "曾小明")

		update("bob", map[string]any{"pinned": false})
		check("Aaron", "Abel", "安娜", "bob", "曾小明")

		// The order they became friends in stays selectable.
		require.Equal(t, []string{"Abel", "Aaron", "曾小明", "bob", "安娜"},
			names(true, `, orderBy: {field: CREATED_AT, direction: ASC}`))
	})
}

// TestFriendsOrderAfterUpgrade: friendships written before their order was
// stored (an empty sort_key) are put in order when the server starts.
func TestFriendsOrderAfterUpgrade(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		cfg := apptest.Config(t, b.URL(t))
		old := start(t, cfg)
		me := old.Register("upgrader", nil)
		for i, nick := range []string{"张三", "bob", "曾小明", "Alice"} {
			old.befriend(old.Register(fmt.Sprintf("kept%d", i), map[string]any{"nickname": nick}), me)
		}
		ctx := viewer.SystemContext(context.Background())
		require.NoError(t, old.App.Client.Friendship.Update().SetSortKey("").Exec(ctx))

		restarted := start(t, cfg)
		type row struct{ Friend struct{ Nickname string } }
		var out struct{ Friends apptest.Connection[row] }
		restarted.OK(me.Token, `{ friends(first: 10) { edges { node { friend { nickname } } } } }`, nil, &out)
		require.Equal(t, []string{"Alice", "bob", "曾小明", "张三"},
			apptest.Map(out.Friends.Nodes(), func(r row) string { return r.Friend.Nickname }))
	})
}

func TestProfileAndUsers(t *testing.T) {
	eachKit(t, socialKit, func(t *testing.T, s *socialServer) {
		a := s.Register("amy", map[string]any{"phone": "13800000002", "email": "amy@example.com", "nickname": "Amy Pond"})
		other := s.Register("rory", nil)

		const update = `mutation($in: UpdateProfileInput!) { updateProfile(input: $in) { username nickname sign sex location avatar } }`
		for _, tc := range []struct {
			name         string
			in           map[string]any
			code, reason string
		}{
			{"taken username", map[string]any{"username": "Rory"}, "CONFLICT", "USERNAME_TAKEN"},
			{"illegal username", map[string]any{"username": "1amy"}, "BAD_USER_INPUT", "USERNAME_ILLEGAL"},
			{"short username", map[string]any{"username": "ab"}, "BAD_USER_INPUT", "USERNAME_LENGTH"},
			{"long nickname", map[string]any{"nickname": strings.Repeat("n", 65)}, "BAD_USER_INPUT", "TOO_LONG"},
			{"long sign", map[string]any{"sign": strings.Repeat("s", 257)}, "BAD_USER_INPUT", "TOO_LONG"},
			{"bad avatar", map[string]any{"avatar": "javascript:alert(1)"}, "BAD_USER_INPUT", "AVATAR_INVALID"},
			{"bad email", map[string]any{"email": "not-an-email"}, "BAD_USER_INPUT", "EMAIL_INVALID"},
			{"bad phone", map[string]any{"phone": "12ab"}, "BAD_USER_INPUT", "PHONE_INVALID"},
			{"bad sex", map[string]any{"sex": "other"}, "GRAPHQL_VALIDATION_FAILED", ""},
		} {
			r := s.Do(a.Token, update, map[string]any{"in": tc.in})
			require.Equal(t, tc.code, r.Code(), "%s: %+v", tc.name, r.Errors)
			if tc.reason != "" {
				require.Equal(t, tc.reason, r.Reason(), tc.name)
			}
		}
		r := s.Do("", update, map[string]any{"in": map[string]any{"nickname": "x"}})
		require.Equal(t, "UNAUTHENTICATED", r.Code())
		// Limits count characters, not bytes: 64 Chinese characters fit.
		long := map[string]any{"nickname": strings.Repeat("猫", 64), "sign": strings.Repeat("签", 256), "location": strings.Repeat("地", 128)}
		s.OK(a.Token, update, map[string]any{"in": long}, nil)
		var ps struct{ ApplyFriend noticeOut }
		s.OK(a.Token, applyMutation, map[string]any{"in": map[string]any{"userId": other.ID, "postscript": strings.Repeat("附", 256)}}, &ps)

		var out struct {
			UpdateProfile struct{ Username, Nickname, Sign, Sex, Location, Avatar string }
		}
		s.OK(a.Token, update, map[string]any{"in": map[string]any{
			"username": "amelia", "nickname": "Amelia", "sign": "raggedy doctor", "sex": "female",
			"location": "Leadworth", "avatarFileId": s.upload(a.Token, "avatar", "a.png", filestest.PNG(4, 4)).ID,
		}}, &out)
		require.Equal(t, "amelia", out.UpdateProfile.Username)
		require.Equal(t, "female", out.UpdateProfile.Sex)
		// The old name is free and signs nobody in; the new one does.
		r = s.Do("", `mutation { login(input: {login: "amy", password: "password1"}) { accessToken } }`, nil)
		require.Equal(t, "WRONG_PASSWORD", r.Reason())
		s.OK("", `mutation { login(input: {login: "amelia", password: "password1"}) { accessToken } }`, nil, nil)

		// Lookups.
		var one struct {
			User *struct {
				ID, Nickname string
				Email, Phone *string
			}
			Users []*struct{ ID string }
		}
		s.OK(other.Token, `query($ids: [ID!]!) { user(username: "AMELIA") { id nickname email phone } users(ids: $ids) { id } }`,
			map[string]any{"ids": []string{other.ID, "999999", a.ID}}, &one)
		require.Equal(t, a.ID, one.User.ID)
		require.Nil(t, one.User.Email, "strangers never see contact fields")
		require.Nil(t, one.User.Phone)
		require.Len(t, one.Users, 3)
		require.Equal(t, other.ID, one.Users[0].ID)
		require.Nil(t, one.Users[1])
		require.Equal(t, a.ID, one.Users[2].ID)
		r = s.Do(other.Token, `query($id: ID!) { user(id: $id, username: "x") { id } }`, map[string]any{"id": a.ID})
		require.Equal(t, "BAD_USER_INPUT", r.Code())
		many := make([]string, 101)
		for i := range many {
			many[i] = a.ID
		}
		r = s.Do(other.Token, `query($ids: [ID!]!) { users(ids: $ids) { id } }`, map[string]any{"ids": many})
		require.Equal(t, "TOO_MANY_IDS", r.Reason())

		// Search: part of a name, or exactly a phone or email.
		search := func(q string) []string {
			var res struct {
				SearchUsers struct {
					Edges []struct {
						Node struct {
							Username string
							Phone    *string
						}
					}
				}
			}
			s.OK(other.Token, `query($q: String!) { searchUsers(query: $q, first: 10) { edges { node { username phone } } } }`, map[string]any{"q": q}, &res)
			var names []string
			for _, e := range res.SearchUsers.Edges {
				require.Nil(t, e.Node.Phone)
				names = append(names, e.Node.Username)
			}
			return names
		}
		require.Equal(t, []string{"amelia"}, search("meli"))
		require.Equal(t, []string{"amelia"}, search("13800000002"))
		require.Empty(t, search("1380000"))
		require.Equal(t, []string{"amelia"}, search("AMY@example.com"))
		r = s.Do(other.Token, `{ searchUsers(query: " ") { totalCount } }`, nil)
		require.Equal(t, "QUERY_TOO_SHORT", r.Reason())
		r = s.Do(other.Token, `query($q: String!) { searchUsers(query: $q) { totalCount } }`, map[string]any{"q": strings.Repeat("q", 65)})
		require.Equal(t, "TOO_LONG", r.Reason())
	})
}

func TestPasswordsAndCodes(t *testing.T) {
	eachKit(t, socialKit, func(t *testing.T, s *socialServer) {
		const phone = "+8613900000003"
		a := s.Register("pat", map[string]any{"phone": phone})
		const change = `mutation($in: ChangePasswordInput!) { changePassword(input: $in) { accessToken } }`

		for _, tc := range []struct {
			name         string
			in           map[string]any
			code, reason string
		}{
			{"neither", map[string]any{"newPassword": "password2"}, "BAD_USER_INPUT", "REQUIRED"},
			{"wrong old", map[string]any{"oldPassword": "nope-nope", "newPassword": "password2"}, "BAD_USER_INPUT", "WRONG_PASSWORD"},
			{"same", map[string]any{"oldPassword": "password1", "newPassword": "password1"}, "BAD_USER_INPUT", "PASSWORD_UNCHANGED"},
			{"short", map[string]any{"oldPassword": "password1", "newPassword": "short"}, "BAD_USER_INPUT", "PASSWORD_TOO_SHORT"},
			{"long", map[string]any{"oldPassword": "password1", "newPassword": strings.Repeat("p", 73)}, "BAD_USER_INPUT", "PASSWORD_TOO_LONG"},
			{"no code sent", map[string]any{"code": "123456", "newPassword": "password2"}, "BAD_USER_INPUT", "CODE_INVALID"},
		} {
			r := s.Do(a.Token, change, map[string]any{"in": tc.in})
			require.Equal(t, tc.code, r.Code(), "%s: %+v", tc.name, r.Errors)
			require.Equal(t, tc.reason, r.Reason(), tc.name)
		}
		r := s.Do("", change, map[string]any{"in": map[string]any{"oldPassword": "password1", "newPassword": "password2"}})
		require.Equal(t, "UNAUTHENTICATED", r.Code())

		// With the old password: every other session ends, this one goes on
		// with the returned token.
		var out struct{ ChangePassword struct{ AccessToken string } }
		s.OK(a.Token, change, map[string]any{"in": map[string]any{"oldPassword": "password1", "newPassword": "password2"}}, &out)
		r = s.Do(a.Token, `{ me { id } }`, nil)
		require.Equal(t, "UNAUTHENTICATED", r.Code())
		token := out.ChangePassword.AccessToken
		s.OK(token, `{ me { id } }`, nil, nil)

		// With an SMS code of purpose reset, sent to the account's own phone.
		const send = `mutation($p: String!, $purpose: VerificationPurpose!) { sendVerificationCode(input: {phone: $p, purpose: $purpose}) { expiresAt resendAfter } }`
		r = s.Do(token, send, map[string]any{"p": "+8613900000999", "purpose": "reset"})
		require.Equal(t, "PHONE_MISMATCH", r.Reason())
		s.OK(token, send, map[string]any{"p": phone, "purpose": "reset"}, nil)
		code := s.codes.Last(phone)
		require.Len(t, code, 6)
		r = s.Do(token, send, map[string]any{"p": phone, "purpose": "reset"})
		require.Equal(t, "RATE_LIMITED", r.Code())
		require.Equal(t, "RESEND_TOO_SOON", r.Reason())
		wrong := fmt.Sprintf("%06d", (intID(code)+1)%1000000)
		r = s.Do(token, change, map[string]any{"in": map[string]any{"code": wrong, "newPassword": "password3"}})
		require.Equal(t, "CODE_INVALID", r.Reason())
		s.OK(token, change, map[string]any{"in": map[string]any{"code": code, "newPassword": "password3"}}, &out)
		token = out.ChangePassword.AccessToken
		r = s.Do(token, change, map[string]any{"in": map[string]any{"code": code, "newPassword": "password4"}})
		require.Equal(t, "CODE_INVALID", r.Reason(), "a code works once")

		// Forgot the password: a code of purpose forget, no sign-in.
		s.OK("", send, map[string]any{"p": phone, "purpose": "forget"}, nil)
		code = s.codes.Last(phone)
		const reset = `mutation($in: ResetPasswordInput!) { resetPassword(input: $in) }`
		// Wrong guesses are counted although each request fails; the fifth
		// kills the code.
		for i := 0; i < 5; i++ {
			r = s.Do("", reset, map[string]any{"in": map[string]any{"phone": phone, "code": wrong, "username": "pat", "newPassword": "password5"}})
			require.Equal(t, "CODE_INVALID", r.Reason())
		}
		r = s.Do("", reset, map[string]any{"in": map[string]any{"phone": phone, "code": code, "username": "pat", "newPassword": "password5"}})
		require.Equal(t, "CODE_TOO_MANY_ATTEMPTS", r.Reason())

		// An unknown phone gets the same answer and no SMS.
		s.OK("", send, map[string]any{"p": "+8613900000777", "purpose": "forget"}, nil)
		require.Empty(t, s.codes.Last("+8613900000777"))
		r = s.Do("", send, map[string]any{"p": "12", "purpose": "forget"})
		require.Equal(t, "PHONE_INVALID", r.Reason())
		r = s.Do("", send, map[string]any{"p": phone, "purpose": "register"})
		require.Equal(t, "PHONE_TAKEN", r.Reason())
	})
}

func TestRegistrationSwitches(t *testing.T) {
	eachKit(t, socialKit, func(t *testing.T, s *socialServer) {
		root := s.newAdmin("root")

		s.settings(root, map[string]any{"registerCaptcha": true})
		in := map[string]any{"username": "newbie", "password": "password1", "phone": "+8613700000004"}
		r := s.Do("", apptest.RegisterMutation, map[string]any{"in": in})
		require.Equal(t, "CODE_REQUIRED", r.Reason())
		s.OK("", `mutation { sendVerificationCode(input: {phone: "+8613700000004", purpose: register}) { expiresAt } }`, nil, nil)
		in["code"] = "000000"
		if s.codes.Last("+8613700000004") == "000000" {
			in["code"] = "000001"
		}
		r = s.Do("", apptest.RegisterMutation, map[string]any{"in": in})
		require.Equal(t, "CODE_INVALID", r.Reason())
		in["code"] = s.codes.Last("+8613700000004")
		s.OK("", apptest.RegisterMutation, map[string]any{"in": in}, nil)

		s.settings(root, map[string]any{"register": false})
		r = s.Do("", apptest.RegisterMutation, map[string]any{"in": map[string]any{"username": "late", "password": "password1"}})
		require.Equal(t, "FEATURE_DISABLED", r.Reason())
	})
}

// TestCodeSwitches: the SMS codes follow the switches and are not wasted:
// no register code while registration is off, a forget code survives a
// mistyped username, and the sign-in captcha asks accounts with a phone
// for a code of purpose login.
func TestCodeSwitches(t *testing.T) {
	eachKit(t, socialKit, func(t *testing.T, s *socialServer) {
		root := s.newAdmin("root")
		const phone = "+8613700000041"
		s.Register("pat", map[string]any{"phone": "137 0000 0041"})
		s.Register("mail", nil)
		const send = `mutation($p: String!, $purpose: VerificationPurpose!) { sendVerificationCode(input: {phone: $p, purpose: $purpose}) { expiresAt } }`

		// Registration off: no register code is sent.
		s.settings(root, map[string]any{"register": false})
		r := s.Do("", send, map[string]any{"p": "+8613700000042", "purpose": "register"})
		require.Equal(t, "FEATURE_DISABLED", r.Reason())
		require.Empty(t, s.codes.Last("+8613700000042"))
		s.settings(root, map[string]any{"register": true})

		// Forgot the password: a mistyped username leaves the code usable.
		s.OK("", send, map[string]any{"p": phone, "purpose": "forget"}, nil)
		code := s.codes.Last(phone)
		const reset = `mutation($in: ResetPasswordInput!) { resetPassword(input: $in) }`
		for i := 0; i < 6; i++ {
			r = s.Do("", reset, map[string]any{"in": map[string]any{"phone": phone, "code": code, "username": "pta", "newPassword": "password5"}})
			require.Equal(t, "INVALID", r.Reason())
			require.Equal(t, "input.username", r.Ext("field"))
		}
		s.OK("", reset, map[string]any{"in": map[string]any{"phone": phone, "code": code, "username": "pat", "newPassword": "password5"}}, nil)
		s.Login("pat", "password5")

		// The sign-in captcha: off, no login code is sent; on, an account
		// with a phone needs one, an account without signs in as before.
		r = s.Do("", send, map[string]any{"p": phone, "purpose": "login"})
		require.Equal(t, "FEATURE_DISABLED", r.Reason())
		s.settings(root, map[string]any{"loginCaptcha": true})
		const login = `mutation($in: LoginInput!) { login(input: $in) { accessToken user { id } } }`
		r = s.Do("", login, map[string]any{"in": map[string]any{"login": "pat", "password": "password5"}})
		require.Equal(t, "BAD_USER_INPUT", r.Code())
		require.Equal(t, "CODE_REQUIRED", r.Reason())
		require.Equal(t, "input.code", r.Ext("field"))
		r = s.Do("", login, map[string]any{"in": map[string]any{"login": "pat", "password": "wrong-password", "code": "123456"}})
		require.Equal(t, "WRONG_PASSWORD", r.Reason(), "the password is checked first")
		s.OK("", send, map[string]any{"p": "13700000041", "purpose": "login"}, nil)
		code = s.codes.Last(phone)
		require.Len(t, code, 6)
		r = s.Do("", login, map[string]any{"in": map[string]any{"login": "pat", "password": "password5", "code": fmt.Sprintf("%06d", (intID(code)+1)%1000000)}})
		require.Equal(t, "CODE_INVALID", r.Reason())
		var in struct{ Login struct{ AccessToken string } }
		s.OK("", login, map[string]any{"in": map[string]any{"login": phone, "password": "password5", "code": code}}, &in)
		s.OK(in.Login.AccessToken, `{ me { id } }`, nil, nil)
		r = s.Do("", login, map[string]any{"in": map[string]any{"login": "pat", "password": "password5", "code": code}})
		require.Equal(t, "CODE_INVALID", r.Reason(), "a code works once")
		s.OK("", login, map[string]any{"in": map[string]any{"login": "mail", "password": "password1"}}, nil)
		// A phone without an account gets the same answer and no SMS.
		s.OK("", send, map[string]any{"p": "+8613700000043", "purpose": "login"}, nil)
		require.Empty(t, s.codes.Last("+8613700000043"))
	})
}

func TestAdminAndSubUsers(t *testing.T) {
	eachKit(t, socialKit, func(t *testing.T, s *socialServer) {
		root := s.newAdmin("root")
		m := s.Register("member", nil)
		plain := s.Register("plain", nil)

		const updateUser = `mutation($id: ID!, $in: AdminUpdateUserInput!) { updateUser(id: $id, input: $in) { accountState isMember } }`
		r := s.Do(plain.Token, updateUser, map[string]any{"id": m.ID, "in": map[string]any{"isMember": true}})
		require.Equal(t, "FORBIDDEN", r.Code())
		r = s.Do(root.Token, updateUser, map[string]any{"id": root.ID, "in": map[string]any{"accountState": "disabled"}})
		require.Equal(t, "CANNOT_CHANGE_SELF", r.Reason())
		r = s.Do(root.Token, updateUser, map[string]any{"id": "424242", "in": map[string]any{"isMember": true}})
		require.Equal(t, "NOT_FOUND", r.Code())
		s.OK(root.Token, updateUser, map[string]any{"id": m.ID, "in": map[string]any{"isMember": true}}, nil)

		const create = `mutation($in: CreateUserInput!) { createUser(input: $in) { id username nickname } }`
		r = s.Do(plain.Token, create, map[string]any{"in": map[string]any{"username": "kid", "password": "password1"}})
		require.Equal(t, "MEMBERS_ONLY", r.Reason())
		r = s.Do(m.Token, create, map[string]any{"in": map[string]any{"username": "plain", "password": "password1"}})
		require.Equal(t, "USERNAME_TAKEN", r.Reason())
		r = s.Do(m.Token, create, map[string]any{"in": map[string]any{"username": "kid", "password": "short"}})
		require.Equal(t, "PASSWORD_TOO_SHORT", r.Reason())
		var kid struct {
			CreateUser struct{ ID, Username, Nickname string }
		}
		s.OK(m.Token, create, map[string]any{"in": map[string]any{"username": "kid", "password": "password1", "nickname": "Kiddo", "sign": "hi"}}, &kid)
		require.Equal(t, "Kiddo", kid.CreateUser.Nickname)
		s.OK("", `mutation { login(input: {login: "kid", password: "password1"}) { accessToken } }`, nil, nil)
		s.OK(root.Token, create, map[string]any{"in": map[string]any{"username": "staff", "password": "password1"}}, nil)

		// Disabling signs the user out everywhere and bars him.
		s.OK(root.Token, updateUser, map[string]any{"id": plain.ID, "in": map[string]any{"accountState": "disabled"}}, nil)
		r = s.Do(plain.Token, `{ me { id } }`, nil)
		require.Equal(t, "UNAUTHENTICATED", r.Code())
		r = s.Do("", `mutation { login(input: {login: "plain", password: "password1"}) { accessToken } }`, nil)
		require.Equal(t, "ACCOUNT_DISABLED", r.Reason())
		r = s.Do(m.Token, applyMutation, map[string]any{"in": map[string]any{"userId": plain.ID}})
		require.Equal(t, "USER_DISABLED", r.Reason())
		s.OK(root.Token, updateUser, map[string]any{"id": plain.ID, "in": map[string]any{"accountState": "normal"}}, nil)
		s.OK("", `mutation { login(input: {login: "plain", password: "password1"}) { accessToken } }`, nil, nil)
	})
}

func TestSettingsQuery(t *testing.T) {
	eachKit(t, socialKit, func(t *testing.T, s *socialServer) {
		root := s.newAdmin("root")
		u := s.Register("user", nil)

		var out struct {
			Settings struct {
				AppName    string
				Register   bool
				Emoji      bool
				DirtyWords []string
			}
		}
		s.OK("", `{ settings { appName register emoji dirtyWords } }`, nil, &out)
		require.Equal(t, "Parley", out.Settings.AppName)
		require.True(t, out.Settings.Register)
		require.Nil(t, out.Settings.DirtyWords)

		r := s.Do(u.Token, `mutation { updateSettings(input: {emoji: false}) { emoji } }`, nil)
		require.Equal(t, "FORBIDDEN", r.Code(), "%+v", r.Errors)
		r = s.Do(root.Token, `mutation($n: String!) { updateSettings(input: {appName: $n}) { appName } }`, map[string]any{"n": strings.Repeat("a", 257)})
		require.Equal(t, "TOO_LONG", r.Reason())
		s.settings(root, map[string]any{"appName": "Pop IM", "emoji": false, "dirtyWords": []string{"darn", "Heck", "darn"}})
		s.OK(u.Token, `{ settings { appName register emoji dirtyWords } }`, nil, &out)
		require.Equal(t, "Pop IM", out.Settings.AppName)
		require.False(t, out.Settings.Emoji)
		require.Nil(t, out.Settings.DirtyWords)
		s.OK(root.Token, `{ settings { appName register emoji dirtyWords } }`, nil, &out)
		require.Equal(t, []string{"darn", "Heck"}, out.Settings.DirtyWords)

		// The dirty-word list masks message text; stranger chat can be off.
		friend := s.Register("friend", nil)
		s.befriend(u, friend)
		msg := s.Send(u, friend, "well DARN it, heck")
		require.Equal(t, "well **** it, ****", msg.Text)
		s.settings(root, map[string]any{"strangerChat": false})
		stranger := s.Register("stranger", nil)
		r = s.Do(stranger.Token, apptest.SendMessageMutation, map[string]any{"to": u.ID, "text": "hi"})
		require.Equal(t, "STRANGER_CHAT_DISABLED", r.Reason())
		s.Send(friend, u, "friends still chat")
		s.settings(root, map[string]any{"privateChat": false})
		r = s.Do(friend.Token, apptest.SendMessageMutation, map[string]any{"to": u.ID, "text": "hi"})
		require.Equal(t, "FEATURE_DISABLED", r.Reason())
	})
}

// TestUpdateSettingsAdminFirst: updateSettings asks the Setting policy
// before it validates the input, so a member or an anonymous client sending
// invalid settings is refused with FORBIDDEN and learns nothing of the
// limits; an admin still gets the validation error, and nothing is written.
func TestUpdateSettingsAdminFirst(t *testing.T) {
	eachKit(t, socialKit, func(t *testing.T, s *socialServer) {
		root := s.newAdmin("root")
		u := s.Register("user", nil)
		const update = `mutation($in: SettingsInput!) { updateSettings(input: $in) { appName } }`
		invalid := map[string]map[string]any{
			"appName too long":          {"appName": strings.Repeat("a", 257)},
			"websocketUrl too long":     {"websocketUrl": strings.Repeat("w", 10_000)},
			"dirty word with a newline": {"dirtyWords": []string{"darn\nheck"}},
			"dirty word too long":       {"dirtyWords": []string{strings.Repeat("d", 65)}},
			"too many dirty words":      {"dirtyWords": make([]string, 1001)},
			"valid and invalid":         {"emoji": false, "appName": strings.Repeat("a", 257)},
		}
		for name, in := range invalid {
			for _, who := range []struct{ name, token string }{{"member", u.Token}, {"anonymous", ""}} {
				r := s.Do(who.token, update, map[string]any{"in": in})
				require.Len(t, r.Errors, 1, "%s as %s", name, who.name)
				require.Equal(t, "FORBIDDEN", r.Code(), "%s as %s: %+v", name, who.name, r.Errors)
				require.Equal(t, "NOT_ALLOWED", r.Reason(), "%s as %s", name, who.name)
				require.Empty(t, r.Ext("field"), "%s as %s: a member learns no field", name, who.name)
			}
			r := s.Do(root.Token, update, map[string]any{"in": in})
			require.Equal(t, "BAD_USER_INPUT", r.Code(), "%s as admin: %+v", name, r.Errors)
		}
		// A member's valid update is refused the same way, and changes
		// nothing.
		r := s.Do(u.Token, update, map[string]any{"in": map[string]any{"appName": "pwned", "emoji": false}})
		require.Equal(t, "FORBIDDEN", r.Code(), "%+v", r.Errors)
		var out struct {
			Settings struct {
				AppName string
				Emoji   bool
			}
		}
		s.OK(u.Token, `{ settings { appName emoji } }`, nil, &out)
		require.Equal(t, "Parley", out.Settings.AppName)
		require.True(t, out.Settings.Emoji)
	})
}

func TestCannedReplies(t *testing.T) {
	eachKit(t, socialKit, func(t *testing.T, s *socialServer) {
		owner := s.Register("shop", nil)
		other := s.Register("rival", nil)
		const create = `mutation($in: CannedReplyInput!) { createCannedReply(input: $in) { id type title isDefault weight } }`
		mk := func(in map[string]any) string {
			var out struct{ CreateCannedReply struct{ ID string } }
			s.OK(owner.Token, create, map[string]any{"in": in}, &out)
			return out.CreateCannedReply.ID
		}
		for _, tc := range []struct {
			name   string
			in     map[string]any
			reason string
		}{
			{"no title", map[string]any{"type": "faq", "title": " ", "content": "c"}, "REQUIRED"},
			{"no content", map[string]any{"type": "faq", "title": "t", "content": ""}, "REQUIRED"},
			{"long title", map[string]any{"type": "faq", "title": strings.Repeat("t", 129), "content": "c"}, "TOO_LONG"},
			{"long content", map[string]any{"type": "faq", "title": "t", "content": strings.Repeat("c", 4097)}, "TOO_LONG"},
			{"hidden default", map[string]any{"type": "welcome", "title": "t", "content": "c", "isDefault": true, "visible": false}, "DEFAULT_MUST_BE_VISIBLE"},
			{"weight", map[string]any{"type": "faq", "title": "t", "content": "c", "weight": 2000000}, "INVALID"},
		} {
			r := s.Do(owner.Token, create, map[string]any{"in": tc.in})
			require.Equal(t, tc.reason, r.Reason(), tc.name)
		}
		r := s.Do("", create, map[string]any{"in": map[string]any{"type": "faq", "title": "t", "content": "c"}})
		require.Equal(t, "UNAUTHENTICATED", r.Code())

		hello := mk(map[string]any{"type": "welcome", "title": "Hello", "content": "Welcome to the shop!", "isDefault": true})
		hi := mk(map[string]any{"type": "welcome", "title": "Hi", "content": "Hi there", "isDefault": true})
		mk(map[string]any{"type": "quick_reply", "title": "Thanks", "content": "Thank you", "weight": 1})
		mk(map[string]any{"type": "quick_reply", "title": "Bye", "content": "Bye", "weight": 5})

		var list struct {
			CannedReplies []struct {
				Type    string
				Replies []struct {
					ID, Title string
					IsDefault bool
				}
			}
		}
		s.OK(owner.Token, `{ cannedReplies { type replies { id title isDefault } } }`, nil, &list)
		require.Equal(t, "welcome", list.CannedReplies[0].Type)
		defaults := 0
		for _, r := range list.CannedReplies[0].Replies {
			if r.IsDefault {
				defaults++
				require.Equal(t, hi, r.ID, "the newest default wins")
			}
		}
		require.Equal(t, 1, defaults)
		require.Equal(t, "Bye", list.CannedReplies[1].Replies[0].Title, "higher weight first")
		require.Empty(t, list.CannedReplies[2].Replies)

		// Someone else's reply does not exist for him.
		r = s.Do(other.Token, `mutation($id: ID!) { updateCannedReply(id: $id, input: {title: "x"}) { id } }`, map[string]any{"id": hello})
		require.Equal(t, "NOT_FOUND", r.Code())
		r = s.Do(other.Token, `mutation($id: ID!) { deleteCannedReply(id: $id) }`, map[string]any{"id": hello})
		require.Equal(t, "NOT_FOUND", r.Code())
		r = s.Do(other.Token, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": hello})
		require.Equal(t, "null", string(mustField(t, r.Data, "node")))

		s.OK(owner.Token, `mutation($id: ID!) { updateCannedReply(id: $id, input: {isDefault: true, content: "Welcome, stranger!"}) { id } }`, map[string]any{"id": hello}, nil)
		// A stranger's first message is preceded by the default welcome.
		var first struct {
			SendMessage struct{ Conversation struct{ ID string } }
		}
		s.OK(other.Token, apptest.SendMessageMutation, map[string]any{"to": owner.ID, "text": "is it open?"}, &first)
		conv := first.SendMessage.Conversation.ID
		var hist struct {
			Node struct {
				Messages struct {
					Edges []struct {
						Node struct {
							Seq    int
							Text   string
							Sender struct{ ID string }
						}
					}
				}
			}
		}
		s.OK(owner.Token, `query($id: ID!) { node(id: $id) { ... on Conversation { messages(first: 10, orderBy: {field: SEQ}) { edges { node { seq text sender { id } } } } } } }`, map[string]any{"id": conv}, &hist)
		require.Len(t, hist.Node.Messages.Edges, 2)
		require.Equal(t, "Welcome, stranger!", hist.Node.Messages.Edges[0].Node.Text)
		require.Equal(t, owner.ID, hist.Node.Messages.Edges[0].Node.Sender.ID)
		require.Equal(t, "is it open?", hist.Node.Messages.Edges[1].Node.Text)

		var del struct{ DeleteCannedReply string }
		s.OK(owner.Token, `mutation($id: ID!) { deleteCannedReply(id: $id) }`, map[string]any{"id": hello}, &del)
		require.Equal(t, hello, del.DeleteCannedReply)
	})
}

func mustField(t *testing.T, data json.RawMessage, key string) json.RawMessage {
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(data, &m))
	return m[key]
}

func TestDeleteAccount(t *testing.T) {
	eachKit(t, socialKit, func(t *testing.T, s *socialServer) {
		leaver := s.Register("leaver", map[string]any{"phone": "+8613600000005"})
		friend := s.Register("friend", nil)
		s.befriend(leaver, friend)
		msg := s.Send(leaver, friend, "goodbye")
		// He owns a group with his friend in it, a room, and sits in a
		// group someone else owns.
		var g struct{ CreateGroup struct{ ID string } }
		s.OK(leaver.Token, `mutation($m: ID!) { createGroup(input: {name: "his group", memberIds: [$m]}) { id } }`, map[string]any{"m": friend.ID}, &g)
		var other struct{ CreateGroup struct{ ID string } }
		s.OK(friend.Token, `mutation($m: ID!) { createGroup(input: {name: "their group", memberIds: [$m]}) { id } }`, map[string]any{"m": leaver.ID}, &other)
		s.OK(leaver.Token, `mutation { createRoom(input: {name: "his room"}) { id } }`, nil, nil)

		r := s.Do(leaver.Token, `mutation { deleteAccount(password: "wrong-one") }`, nil)
		require.Equal(t, "WRONG_PASSWORD", r.Reason())
		r = s.Do("", `mutation { deleteAccount(password: "password1") }`, nil)
		require.Equal(t, "UNAUTHENTICATED", r.Code())
		s.OK(leaver.Token, `mutation { deleteAccount(password: "password1") }`, nil, nil)

		r = s.Do(leaver.Token, `{ me { id } }`, nil)
		require.Equal(t, "UNAUTHENTICATED", r.Code())
		require.Empty(t, s.friendIDs(friend))
		var out struct {
			User *struct{ ID string }
			Node struct {
				Text   string
				Sender struct{ AccountState string }
			}
		}
		s.OK(friend.Token, `query($m: ID!) { user(username: "leaver") { id } node(id: $m) { ... on Message { text sender { accountState } } } }`, map[string]any{"m": msg.ID}, &out)
		require.Nil(t, out.User)
		require.Equal(t, "", out.Node.Text)
		require.Equal(t, "deleted", out.Node.Sender.AccountState)
		// His group passed to the friend; he left the other; his room is gone.
		var after struct {
			Group struct {
				MemberCount int
				Owner       struct{ ID string }
			}
			Other struct{ MemberCount int }
			Room  *struct{ ID string }
		}
		s.OK(friend.Token, `query($g: ID!, $o: ID!) { group: group(id: $g) { memberCount owner { id } } other: group(id: $o) { memberCount } room(name: "his room") { id } }`,
			map[string]any{"g": g.CreateGroup.ID, "o": other.CreateGroup.ID}, &after)
		require.Equal(t, friend.ID, after.Group.Owner.ID)
		require.Equal(t, 1, after.Group.MemberCount)
		require.Equal(t, 1, after.Other.MemberCount)
		require.Nil(t, after.Room)
		// The name and phone are free again.
		s.Register("leaver", map[string]any{"phone": "+8613600000005"})
	})
}

func TestHomeQueryCount(t *testing.T) {
	eachKit(t, socialKit, func(t *testing.T, s *socialServer) {
		me := s.Register("myself", nil)
		const home = `{ home { unhandledApplicationCount me { id nickname } contactBook { initial contacts { displayName user { id nickname avatar } } } groups { id name } conversations { id kind } settings { appName emoji } } }`
		measure := func() int64 {
			s.statements.Store(0)
			s.OK(me.Token, home, nil, nil)
			return s.statements.Load()
		}
		friend := s.Register("friend0", nil)
		s.befriend(friend, me)
		s.Send(friend, me, "hi")
		few := measure()
		for i := 1; i < 8; i++ {
			f := s.Register(fmt.Sprintf("friend%d", i), nil)
			s.befriend(f, me)
			s.Send(f, me, "hi")
		}
		stranger := s.Register("someone", nil)
		s.apply(stranger, me, "")
		many := measure()
		require.Equal(t, few, many, "home must not issue a query per friend or conversation")
		require.LessOrEqual(t, many, int64(10))

		var out struct {
			Home struct {
				UnhandledApplicationCount int
				ContactBook               []struct {
					Contacts []struct{ DisplayName string }
				}
				Conversations []struct{ ID string }
			}
		}
		s.OK(me.Token, home, nil, &out)
		require.Equal(t, 1, out.Home.UnhandledApplicationCount)
		require.Len(t, out.Home.Conversations, 8)
		r := s.Do("", home, nil)
		require.Equal(t, "UNAUTHENTICATED", r.Code())
	})
}

// TestUserPolicyGuardsPrivilegedFields proves, at the data layer, that no
// code path acting for a user can raise his own role, state or membership.
func TestUserPolicyGuardsPrivilegedFields(t *testing.T) {
	eachKit(t, socialKit, func(t *testing.T, s *socialServer) {
		u := s.Register("climber", nil)
		id := intID(u.ID)
		ctx := viewer.NewContext(context.Background(), &viewer.Viewer{UserID: id})
		for name, upd := range map[string]func() error{
			"role": func() error { return s.App.Client.User.UpdateOneID(id).SetRole(user.RoleAdmin).Exec(ctx) },
			"state": func() error {
				return s.App.Client.User.UpdateOneID(id).SetAccountState(user.AccountStateNormal).Exec(ctx)
			},
			"member": func() error { return s.App.Client.User.UpdateOneID(id).SetIsMember(true).Exec(ctx) },
		} {
			require.Error(t, upd(), name)
		}
		require.NoError(t, s.App.Client.User.UpdateOneID(id).SetNickname("fine").Exec(ctx))
	})
}

// TestDeleteAccountErasesMessagesLive: the messages a deleted account
// erases leave the other members' open streams at once: one
// conversation.messages_deleted per conversation on its topic (events and
// conversationEvents), naming the erased messages by id and seq, with the
// conversation as it now is (its last message no longer his).
func TestDeleteAccountErasesMessagesLive(t *testing.T) {
	eachKit(t, newGrpKit, func(t *testing.T, k grpKit) {
		ann, leaver, cat := k.trio()
		k.befriend(leaver, cat)
		g := k.group(ann, "approval", leaver, cat)
		first := k.sendIn(leaver, map[string]any{"to": ann.ID, "text": "one"})
		second := k.sendIn(leaver, map[string]any{"to": ann.ID, "text": "two"})
		kept := k.sendIn(ann, map[string]any{"to": leaver.ID, "text": "mine stays"})
		inGroup := k.sendIn(leaver, map[string]any{"groupId": g.ID, "text": "to the group"})
		k.sendIn(cat, map[string]any{"groupId": g.ID, "text": "cat's"})
		last := k.sendIn(leaver, map[string]any{"groupId": g.ID, "text": "last word"})

		aws, cws := k.MustDial(ann.Token), k.MustDial(cat.Token)
		aws.Subscribe("e", `subscription { events { `+grpEventFields+` node { ... on Conversation { id lastMessage { text } } } } }`, nil)
		cws.Subscribe("c", `subscription($c: ID!) { conversationEvents(conversationId: $c) { `+grpEventFields+` node { ... on Conversation { id lastMessage { text } } } } }`, map[string]any{"c": g.ConversationID})
		k.WaitSubscriptions(2)
		k.OK(leaver.Token, `mutation { deleteAccount(password: "password1") }`, nil, nil)

		type erased struct {
			Kind      string
			SubjectID *string
			Data      map[string]any
			Node      *struct {
				ID          string
				LastMessage *struct{ Text string }
			}
		}
		next := func(c *apptest.Conn, field string) erased {
			t.Helper()
			for {
				ev, typ := apptest.Next[erased](c, field)
				require.Equal(t, "next", typ, "stream ended before conversation.messages_deleted")
				if ev.Kind == "CONVERSATION_MESSAGES_DELETED" {
					return ev
				}
			}
		}
		strs := func(v any) []string {
			var out []string
			for _, x := range v.([]any) {
				out = append(out, x.(string))
			}
			return out
		}
		byConv := map[string]erased{}
		for len(byConv) < 2 {
			ev := next(aws, "events")
			byConv[ev.Data["conversationId"].(string)] = ev
		}
		direct, group := byConv[first.Conversation.ID], byConv[g.ConversationID]
		require.Equal(t, []string{first.ID, second.ID}, strs(direct.Data["messageIds"]))
		require.Equal(t, []any{float64(first.Seq), float64(second.Seq)}, direct.Data["seqs"])
		require.Equal(t, leaver.ID, direct.Data["senderId"])
		require.Equal(t, first.Conversation.ID, *direct.SubjectID)
		require.Equal(t, "mine stays", direct.Node.LastMessage.Text, "the conversation as it now is")
		require.Equal(t, []string{inGroup.ID, last.ID}, strs(group.Data["messageIds"]))
		require.NotEqual(t, last.Text, group.Node.LastMessage.Text, "his last word is no longer the group's")
		ev := next(cws, "conversationEvents")
		require.Equal(t, []string{inGroup.ID, last.ID}, strs(ev.Data["messageIds"]))

		// What the events say is what a reload shows.
		require.Equal(t, []string{kept.Text}, k.texts(ann, first.Conversation.ID))
	})
}
