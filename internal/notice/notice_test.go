package notice_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/event"
	"github.com/parley-im/parley/ent/notice"
	"github.com/parley-im/parley/ent/privacy"
	"github.com/parley-im/parley/ent/viewer"
	noticesvc "github.com/parley-im/parley/internal/notice"
	"github.com/parley-im/parley/internal/platform/apperr"
	"github.com/parley-im/parley/internal/platform/dbtest"
	"github.com/parley-im/parley/internal/platform/eventlog"
	"github.com/parley-im/parley/internal/platform/txn"
)

// env is a notice service on a fresh database, with three users.
type env struct {
	c                *ent.Client
	s                *noticesvc.Service
	sys              context.Context
	alice, bob, carl int
}

// newEnv opens a fresh database on b with the notice service on its event
// log, which is how the server wires it.
func newEnv(t *testing.T, b dbtest.Backend) env {
	t.Helper()
	c := dbtest.Open(t, b).Client
	e := env{c: c, s: noticesvc.NewService(eventlog.New(c, b.Postgres(), nil)), sys: viewer.SystemContext(context.Background())}
	user := func(i int, name string) int {
		return c.User.Create().SetUsername(name).SetPasswordHash("!").SetPublicID(int64(40_000_000 + i)).SaveX(e.sys).ID
	}
	e.alice, e.bob, e.carl = user(1, "alice"), user(2, "bob"), user(3, "carl")
	return e
}

// as runs fn as user uid (0: anonymous) in a transaction, as a GraphQL
// mutation runs, and commits it when fn succeeds.
func (e env) as(uid int, fn func(ctx context.Context) error) error {
	ctx := context.Background()
	if uid != 0 {
		ctx = viewer.NewContext(ctx, &viewer.Viewer{UserID: uid})
	}
	return txn.Run(ctx, e.c, fn)
}

// push pushes spec as user uid and returns the notice.
func (e env) push(t *testing.T, uid int, spec noticesvc.Spec) *ent.Notice {
	t.Helper()
	var n *ent.Notice
	require.NoError(t, e.as(uid, func(ctx context.Context) (err error) {
		n, err = e.s.Push(ctx, spec)
		return err
	}))
	return n
}

// settle settles notice id as user uid, loading it in the transaction as
// the callers of Settle do.
func (e env) settle(uid, id int, op notice.Operation) (*ent.Notice, error) {
	var got *ent.Notice
	err := e.as(uid, func(ctx context.Context) error {
		n, err := ent.FromContext(ctx).Notice.Get(viewer.SystemContext(ctx), id)
		if err != nil {
			return err
		}
		got, err = e.s.Settle(ctx, n, op)
		return err
	})
	return got, err
}

// events lists the log as "topic kind actor subject", in order.
func (e env) events(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, ev := range e.c.Event.Query().Order(ent.Asc(event.FieldID)).AllX(e.sys) {
		actor, subject := 0, 0
		if ev.ActorID != nil {
			actor = *ev.ActorID
		}
		if ev.SubjectID != nil {
			subject = *ev.SubjectID
		}
		out = append(out, fmt.Sprintf("%s %s %d %d", ev.Topic, ev.Kind, actor, subject))
	}
	return out
}

// ev is one line of events.
func ev(topic, kind string, actor, subject int) string {
	return fmt.Sprintf("%s %s %d %d", topic, kind, actor, subject)
}

// requireReason asserts that err is the apperr of code and reason.
func requireReason(t *testing.T, err error, code apperr.Code, reason string) {
	t.Helper()
	e, ok := apperr.As(err)
	require.True(t, ok, "not an apperr: %v", err)
	require.Equal(t, code, e.Code, e.Message)
	require.Equal(t, reason, e.Reason, e.Message)
}

// TestPush: a notice is stored for its recipient and told on his stream,
// in the caller's transaction only; a user sends from himself, a system
// notice is written as the system whoever asks.
func TestPush(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		e := newEnv(t, b)
		_, err := e.s.Push(viewer.NewContext(context.Background(), &viewer.Viewer{UserID: e.alice}),
			noticesvc.Spec{Type: notice.TypeFriendApply, From: e.alice, To: e.bob})
		require.ErrorIs(t, err, txn.ErrNone, "outside a transaction")

		n := e.push(t, e.alice, noticesvc.Spec{Type: notice.TypeFriendApply, From: e.alice, To: e.bob,
			Postscript: "hi", Data: map[string]any{"k": "v"}})
		require.Equal(t, notice.TypeFriendApply, n.Type)
		require.Equal(t, e.alice, *n.FromID)
		require.Equal(t, e.bob, n.ToID)
		require.Equal(t, "hi", n.Postscript)
		require.Equal(t, map[string]any{"k": "v"}, n.Data)
		require.Equal(t, notice.OperationNone, n.Operation, "not a request")
		require.False(t, n.Read)

		sys := e.push(t, e.alice, noticesvc.Spec{Type: notice.TypeSystem, To: e.bob})
		require.Nil(t, sys.FromID)

		err = e.as(e.alice, func(ctx context.Context) error {
			_, err := e.s.Push(ctx, noticesvc.Spec{Type: notice.TypeFriendApply, From: e.carl, To: e.bob})
			return err
		})
		require.True(t, errors.Is(err, privacy.Deny), "in another's name: %v", err)

		require.Equal(t, []string{
			ev(eventlog.UserTopic(e.bob), noticesvc.KindCreated, e.alice, n.ID),
			ev(eventlog.UserTopic(e.bob), noticesvc.KindCreated, 0, sys.ID),
		}, e.events(t), "a refused push leaves no event")
	})
}

// TestPushRequest: a request starts not operated; repeating it while it is
// pending renews that one (its postscript, unread again) rather than
// stacking another, which a request of another project, or one once
// settled, does not; plain notices always stack.
func TestPushRequest(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		e := newEnv(t, b)
		apply := noticesvc.Spec{Type: notice.TypeFriendApply, From: e.alice, To: e.bob, Request: true, Postscript: "first"}
		n := e.push(t, e.alice, apply)
		require.Equal(t, notice.OperationNotOperated, n.Operation)
		require.NoError(t, e.as(e.bob, func(ctx context.Context) error { _, err := e.s.MarkRead(ctx, nil); return err }))

		apply.Postscript = "again"
		renewed := e.push(t, e.alice, apply)
		require.Equal(t, n.ID, renewed.ID)
		require.Equal(t, "again", renewed.Postscript)
		require.False(t, renewed.Read, "unread again")
		require.Equal(t, 1, e.c.Notice.Query().CountX(e.sys))

		_, err := e.settle(e.bob, renewed.ID, notice.OperationRefused)
		require.NoError(t, err)
		fresh := e.push(t, e.alice, apply)
		require.NotEqual(t, n.ID, fresh.ID, "a settled request is not renewed")
		require.Equal(t, notice.OperationNotOperated, fresh.Operation)

		// Requests of other projects are other requests.
		project := func(name string) int {
			return e.c.Project.Create().SetName(name).SetNameKey(name).SetOwnerID(e.carl).SaveX(e.sys).ID
		}
		p, q := project("p"), project("q")
		invite := func(projectID int) *ent.Notice {
			return e.push(t, e.carl, noticesvc.Spec{Type: notice.TypeProjectInvite, From: e.carl, To: e.bob, ProjectID: projectID, Request: true})
		}
		inP := invite(p)
		require.Equal(t, p, *inP.ProjectID)
		require.NotEqual(t, inP.ID, invite(q).ID)
		require.Equal(t, inP.ID, invite(p).ID)

		// From another sender, another request.
		other := e.push(t, e.carl, noticesvc.Spec{Type: notice.TypeFriendApply, From: e.carl, To: e.bob, Request: true})
		require.NotEqual(t, fresh.ID, other.ID)

		plain := noticesvc.Spec{Type: notice.TypeFriendAccepted, From: e.bob, To: e.alice}
		require.NotEqual(t, e.push(t, e.bob, plain).ID, e.push(t, e.bob, plain).ID)

		kinds := map[string]int{}
		for _, ev := range e.c.Event.Query().AllX(e.sys) {
			kinds[ev.Kind]++
		}
		require.Equal(t, 4, kinds[noticesvc.KindUpdated], "two renewals and the settle's two events")
	})
}

// TestPending: Pending finds the open request of a type from one user to
// another, and nothing once it is settled or for anyone else.
func TestPending(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		e := newEnv(t, b)
		n := e.push(t, e.alice, noticesvc.Spec{Type: notice.TypeFriendApply, From: e.alice, To: e.bob, Request: true})
		pending := func(from, to int, typ notice.Type) *ent.Notice {
			var got *ent.Notice
			require.NoError(t, e.as(to, func(ctx context.Context) (err error) {
				got, err = e.s.Pending(ctx, typ, from, to)
				return err
			}))
			return got
		}
		require.Equal(t, n.ID, pending(e.alice, e.bob, notice.TypeFriendApply).ID)
		require.Nil(t, pending(e.carl, e.bob, notice.TypeFriendApply), "from someone else")
		require.Nil(t, pending(e.alice, e.carl, notice.TypeFriendApply), "to someone else")
		require.Nil(t, pending(e.alice, e.bob, notice.TypeGroupApply), "of another type")
		_, err := e.settle(e.bob, n.ID, notice.OperationAgreed)
		require.NoError(t, err)
		require.Nil(t, pending(e.alice, e.bob, notice.TypeFriendApply), "settled")

		_, err = e.s.Pending(viewer.NewContext(context.Background(), &viewer.Viewer{UserID: e.bob}), notice.TypeFriendApply, e.alice, e.bob)
		require.ErrorIs(t, err, txn.ErrNone)
	})
}

// TestSettle: only the recipient settles a request, once; the answer marks
// it read and is told to both sides, or to the recipient alone when no one
// sent it.
func TestSettle(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		e := newEnv(t, b)
		n := e.push(t, e.alice, noticesvc.Spec{Type: notice.TypeFriendApply, From: e.alice, To: e.bob, Request: true})
		before := len(e.events(t))
		_, err := e.settle(e.alice, n.ID, notice.OperationAgreed)
		requireReason(t, err, apperr.NotFound, apperr.ReasonNotFound)
		_, err = e.settle(e.carl, n.ID, notice.OperationAgreed)
		requireReason(t, err, apperr.NotFound, apperr.ReasonNotFound)

		got, err := e.settle(e.bob, n.ID, notice.OperationAgreed)
		require.NoError(t, err)
		require.Equal(t, notice.OperationAgreed, got.Operation)
		require.True(t, got.Read)
		require.Equal(t, notice.OperationAgreed, e.c.Notice.GetX(e.sys, n.ID).Operation)
		require.Equal(t, []string{
			ev(eventlog.UserTopic(e.bob), noticesvc.KindUpdated, e.bob, n.ID),
			ev(eventlog.UserTopic(e.alice), noticesvc.KindUpdated, e.bob, n.ID),
		}, e.events(t)[before:])

		_, err = e.settle(e.bob, got.ID, notice.OperationRefused)
		requireReason(t, err, apperr.Conflict, noticesvc.ReasonAlreadyHandled)
		require.Equal(t, notice.OperationAgreed, e.c.Notice.GetX(e.sys, n.ID).Operation)

		plain := e.push(t, e.alice, noticesvc.Spec{Type: notice.TypeFriendAccepted, From: e.alice, To: e.bob})
		_, err = e.settle(e.bob, plain.ID, notice.OperationAgreed)
		requireReason(t, err, apperr.Conflict, noticesvc.ReasonAlreadyHandled)

		system := e.push(t, 0, noticesvc.Spec{Type: notice.TypeGroupInvited, To: e.bob, Request: true})
		before = len(e.events(t))
		_, err = e.settle(e.bob, system.ID, notice.OperationRefused)
		require.NoError(t, err)
		require.Equal(t, []string{ev(eventlog.UserTopic(e.bob), noticesvc.KindUpdated, e.bob, system.ID)}, e.events(t)[before:])
	})
}

// TestMarkRead: a user marks read his own unread notices, all of them or
// those named, never anyone else's, and learns how many changed.
func TestMarkRead(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		e := newEnv(t, b)
		toBob := []int{
			e.push(t, e.alice, noticesvc.Spec{Type: notice.TypeFriendAccepted, From: e.alice, To: e.bob}).ID,
			e.push(t, e.carl, noticesvc.Spec{Type: notice.TypeFriendAccepted, From: e.carl, To: e.bob}).ID,
			e.push(t, 0, noticesvc.Spec{Type: notice.TypeSystem, To: e.bob}).ID,
		}
		toAlice := e.push(t, e.bob, noticesvc.Spec{Type: notice.TypeFriendAccepted, From: e.bob, To: e.alice}).ID
		markRead := func(uid int, ids ...int) int {
			var n int
			require.NoError(t, e.as(uid, func(ctx context.Context) (err error) {
				n, err = e.s.MarkRead(ctx, ids)
				return err
			}))
			return n
		}
		read := func(id int) bool { return e.c.Notice.GetX(e.sys, id).Read }

		require.Equal(t, 1, markRead(e.bob, toBob[0], toAlice), "his own of those named")
		require.True(t, read(toBob[0]))
		require.False(t, read(toBob[1]))
		require.False(t, read(toAlice), "not the notice he sent")
		require.Equal(t, 0, markRead(e.bob, toBob[0]), "already read")
		require.Equal(t, 2, markRead(e.bob), "all the rest")
		require.True(t, read(toBob[1]) && read(toBob[2]))
		require.False(t, read(toAlice))
		require.Equal(t, 0, markRead(e.carl), "nothing of his")

		_, err := e.s.MarkRead(viewer.NewContext(context.Background(), &viewer.Viewer{UserID: e.bob}), nil)
		require.ErrorIs(t, err, txn.ErrNone)
	})
}
