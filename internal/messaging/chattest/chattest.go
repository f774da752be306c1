// Package chattest builds the chat services (messaging, group, room) on a
// fresh database of one backend (internal/platform/dbtest), for the tests
// of those packages: each test acts as a viewer, in a transaction of its
// own, through the services and straight through ent.
package chattest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/message"
	_ "github.com/parley-im/parley/ent/runtime" // the policies and hooks
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/group"
	"github.com/parley-im/parley/internal/messaging"
	"github.com/parley-im/parley/internal/notice"
	"github.com/parley-im/parley/internal/platform/apperr"
	"github.com/parley-im/parley/internal/platform/dbtest"
	"github.com/parley-im/parley/internal/platform/eventlog"
	"github.com/parley-im/parley/internal/platform/realtime"
	"github.com/parley-im/parley/internal/platform/txn"
	"github.com/parley-im/parley/internal/room"
	"github.com/parley-im/parley/internal/settings"
)

// Env is the chat services on one fresh database.
type Env struct {
	Client    *ent.Client
	Settings  *settings.Service
	Messaging *messaging.Service
	Groups    *group.Service
	Rooms     *room.Service
	People    *People
	Typing    *Typing
}

// Each runs f on every backend (dbtest.Each) with the services built on a
// fresh database with the default options (New).
func Each(t *testing.T, f func(t *testing.T, e *Env)) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) { f(t, New(t, b, messaging.Options{})) })
}

// New builds the services on a fresh database of b. o tunes messaging; its
// group rules are group.Posting unless o sets others.
func New(t *testing.T, b dbtest.Backend, o messaging.Options) *Env {
	t.Helper()
	client := dbtest.Open(t, b).Client
	log := eventlog.New(client, b.Postgres(), nil)
	toggles := settings.NewService(client)
	if o.Groups == nil {
		o.Groups = group.NewPosting(toggles)
	}
	e := &Env{Client: client, Settings: toggles, People: &People{}, Typing: &Typing{}}
	e.Messaging = messaging.NewService(client, log, e.People, toggles, noFiles{}, e.Typing, o)
	e.Groups = group.NewService(client, log, e.Messaging, notice.NewService(log), toggles, e.People, avatars{})
	e.Rooms = room.NewService(client, log, e.Messaging, avatars{}, presenceTTL(45*time.Second))
	return e
}

var publicIDs atomic.Int64

// User creates a user named name (his nickname too, unless nickname is
// given) and returns his id.
func (e *Env) User(t *testing.T, name string, nickname ...string) int {
	t.Helper()
	create := e.Client.User.Create().SetUsername(name).SetPasswordHash("!").
		SetPublicID(20_000_000 + publicIDs.Add(1))
	if len(nickname) > 0 {
		create.SetNickname(nickname[0])
	} else {
		create.SetNickname(name)
	}
	u, err := create.Save(System())
	require.NoError(t, err)
	return u.ID
}

// As returns a context of viewer uid.
func As(uid int) context.Context {
	return viewer.NewContext(context.Background(), &viewer.Viewer{UserID: uid})
}

// System returns a context of the system viewer.
func System() context.Context { return viewer.SystemContext(context.Background()) }

// In runs fn as viewer uid in a transaction, as a mutation runs: committed
// when fn succeeds, rolled back otherwise. It returns fn's error.
func (e *Env) In(uid int, fn func(ctx context.Context) error) error {
	return txn.Run(As(uid), e.Client, fn)
}

// Must is In that fails the test when fn fails.
func (e *Env) Must(t *testing.T, uid int, fn func(ctx context.Context) error) {
	t.Helper()
	require.NoError(t, e.In(uid, fn))
}

// Reason returns the reason of a coded error, "" for nil and the error's
// text for an uncoded one.
func Reason(err error) string {
	if err == nil {
		return ""
	}
	if ae, ok := apperr.As(err); ok {
		return ae.Reason
	}
	return err.Error()
}

// Refused asserts that err is coded with reason.
func Refused(t *testing.T, reason string, err error, msgAndArgs ...any) {
	t.Helper()
	require.Error(t, err, msgAndArgs...)
	require.Equal(t, reason, Reason(err), msgAndArgs...)
}

// Group creates a group owned by owner with members, who become owner's
// friends first, and returns it.
func (e *Env) Group(t *testing.T, owner int, in group.CreateInput) *ent.Group {
	t.Helper()
	for _, m := range in.MemberIDs {
		e.People.Befriend(owner, m)
	}
	var g *ent.Group
	e.Must(t, owner, func(ctx context.Context) (err error) {
		g, err = e.Groups.Create(ctx, in)
		return err
	})
	return g
}

// Send sends r as uid and returns the message.
func (e *Env) Send(t *testing.T, uid int, r messaging.Request) *ent.Message {
	t.Helper()
	var m *ent.Message
	e.Must(t, uid, func(ctx context.Context) (err error) {
		m, err = e.Messaging.Send(ctx, r)
		return err
	})
	return m
}

// History returns the seqs of a conversation's history as uid reads it.
func (e *Env) History(t *testing.T, uid, convID int) []int64 {
	t.Helper()
	last := 100
	page, err := e.Messaging.History(As(uid), convID, nil, nil, nil, &last)
	require.NoError(t, err)
	var seqs []int64
	for _, edge := range page.Edges {
		seqs = append(seqs, edge.Node.Seq)
	}
	return seqs
}

// SystemLines returns the texts of a conversation's system messages, oldest
// first.
func (e *Env) SystemLines(t *testing.T, convID int) []string {
	t.Helper()
	rows, err := e.Client.Message.Query().Where(message.ConversationID(convID), message.KindEQ(message.KindSystem)).
		Order(ent.Asc(message.FieldSeq)).All(System())
	require.NoError(t, err)
	out := make([]string, len(rows))
	for i, m := range rows {
		out[i] = messaging.Text(m)
	}
	return out
}

// People is the social side messaging and groups ask: who is friends with
// whom, and welcome replies (none).
type People struct {
	mu      sync.Mutex
	friends map[[2]int]bool
}

// Befriend makes a and b friends.
func (p *People) Befriend(a, b int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.friends == nil {
		p.friends = map[[2]int]bool{}
	}
	p.friends[[2]int{a, b}], p.friends[[2]int{b, a}] = true, true
}

// AreFriends reports whether a and b are friends.
func (p *People) AreFriends(_ context.Context, a, b int) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.friends[[2]int{a, b}], nil
}

// Welcome returns no welcome reply.
func (p *People) Welcome(context.Context, int) (*ent.CannedReply, error) { return nil, nil }

// Typing records the ephemeral events messaging publishes.
type Typing struct {
	mu     sync.Mutex
	Events []realtime.Event
}

// PublishEphemeral records e.
func (t *Typing) PublishEphemeral(_ context.Context, e realtime.Event) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.Events = append(t.Events, e)
	return nil
}

// noFiles refuses every file: these tests send no uploads.
type noFiles struct{}

func (noFiles) Attach(context.Context, int, int) (*ent.File, error) {
	return nil, errors.New("chattest: no files")
}

// avatars accepts any file id as an avatar.
type avatars struct{}

func (avatars) Avatar(_ context.Context, fileID int, _ string) (string, error) {
	return fmt.Sprintf("/files/%d/avatar.png", fileID), nil
}

type presenceTTL time.Duration

func (p presenceTTL) TTL() time.Duration { return time.Duration(p) }
