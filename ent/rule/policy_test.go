package rule_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/privacy"
	"github.com/parley-im/parley/ent/rule"
	"github.com/parley-im/parley/ent/viewer"
)

// outcome is how a policy answers one write, as its caller sees it.
type outcome int

const (
	// allowed: the write went through.
	allowed outcome = iota
	// denied: a rule refused it with an error wrapping privacy.Deny.
	denied
	// hidden: a filter rule left the row out of the write's reach, so the
	// write by id found nothing (ent.NotFoundError), as if the row did not
	// exist.
	hidden
	// signIn: the anonymous request was refused with rule.ErrNoViewer.
	signIn
	// refused: denied or hidden, for the rows of a write that must not go
	// through but whose refusal the policy may word either way.
	refused
)

// String names the outcome in a test's failure.
func (o outcome) String() string {
	return [...]string{"allowed", "denied", "hidden", "signIn", "refused"}[o]
}

// outcomeOf names the outcome err is; unexpected errors are returned as
// they are so that the test shows them.
func outcomeOf(err error) (outcome, error) {
	switch {
	case err == nil:
		return allowed, nil
	case errors.Is(err, rule.ErrNoViewer):
		return signIn, nil
	case errors.Is(err, privacy.Deny):
		return denied, nil
	case ent.IsNotFound(err):
		return hidden, nil
	}
	return 0, err
}

// matches reports whether got is what want asks for.
func (want outcome) matches(got outcome) bool {
	if want == refused {
		return got == denied || got == hidden
	}
	return want == got
}

// anonymous is the viewer of a request nobody signed in to.
var anonymous *viewer.Viewer

// signedIn returns the viewer of user uid.
func signedIn(uid int) *viewer.Viewer { return &viewer.Viewer{UserID: uid} }

// asAdmin returns the viewer of uid, an administrator.
func asAdmin(uid int) *viewer.Viewer { return &viewer.Viewer{UserID: uid, Admin: true} }

// viewerContext returns a context acting as v; nil is anonymous.
func viewerContext(v *viewer.Viewer) context.Context {
	if v == nil {
		return context.Background()
	}
	return viewer.NewContext(context.Background(), v)
}

// asViewer runs write as v straight through ent, in a transaction that is
// rolled back, and returns its error: the policy alone decides, and every
// row of a table starts from the same fixture.
func asViewer(t *testing.T, c *ent.Client, v *viewer.Viewer, write func(ctx context.Context, c *ent.Client) error) error {
	t.Helper()
	ctx := viewerContext(v)
	tx, err := c.Tx(ctx)
	require.NoError(t, err)
	defer tx.Rollback()
	return write(ent.NewTxContext(ctx, tx), tx.Client())
}

// writeCase is one row of a write table: viewer v runs write, and the
// policy answers want.
type writeCase struct {
	name  string
	v     *viewer.Viewer
	write func(ctx context.Context, c *ent.Client) error
	want  outcome
}

// writeFunc is a write of a case, or one step of it, as the viewer of ctx.
type writeFunc = func(ctx context.Context, c *ent.Client) error

// steps is a write made of steps run in turn until one fails: the changes
// a case makes before the write it checks.
func steps(ws ...writeFunc) writeFunc {
	return func(ctx context.Context, c *ent.Client) error {
		for _, w := range ws {
			if err := w(ctx, c); err != nil {
				return err
			}
		}
		return nil
	}
}

// by runs w as user uid instead of the case's viewer: another party's step.
func by(uid int, w writeFunc) writeFunc {
	return func(ctx context.Context, c *ent.Client) error { return w(viewer.NewContext(ctx, signedIn(uid)), c) }
}

// runWrites runs each case as its viewer (asViewer) and checks the
// policy's answer.
func runWrites(t *testing.T, c *ent.Client, cases []writeCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := outcomeOf(asViewer(t, c, tc.v, tc.write))
			require.NoError(t, err, "not a policy answer")
			require.True(t, tc.want.matches(got), "want %s, the policy answers %s", tc.want, got)
		})
	}
}

// reader lists and loads one entity's rows as the viewer of ctx.
type reader struct {
	list func(ctx context.Context) ([]int, error)
	get  func(ctx context.Context, id int) error
}

// readerOf is the reader of an entity's generated client: its query's
// IDs and its Get, e.g. readerOf(c.Session.Query, c.Session.Get).
func readerOf[Q interface {
	IDs(context.Context) ([]int, error)
}, T any](query func() Q, get func(context.Context, int) (T, error)) reader {
	return reader{
		list: func(ctx context.Context) ([]int, error) { return query().IDs(ctx) },
		get:  func(ctx context.Context, id int) error { _, err := get(ctx, id); return err },
	}
}

// readCase is one row of a read table: viewer v gets the rows want, or,
// when err is set, a query that fails with it.
type readCase struct {
	name string
	v    *viewer.Viewer
	want []int
	err  error
}

// runReads checks, for each case, that the viewer's query returns exactly
// the rows want, and that of the rows all, loading one by id finds those
// and no other: the filter hides the rest rather than failing.
func runReads(t *testing.T, r reader, all []int, cases []readCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := viewerContext(tc.v)
			got, err := r.list(ctx)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				for _, id := range all {
					require.ErrorIs(t, r.get(ctx, id), tc.err, "row %d", id)
				}
				return
			}
			require.NoError(t, err)
			require.ElementsMatch(t, tc.want, got)
			for _, id := range all {
				err := r.get(ctx, id)
				if slices.Contains(tc.want, id) {
					require.NoError(t, err, "row %d", id)
				} else {
					require.True(t, ent.IsNotFound(err), "row %d: %v", id, err)
				}
			}
		})
	}
}

// newUser writes a user as the system and returns its id.
func newUser(t *testing.T, c *ent.Client, name string) int {
	t.Helper()
	n := fixtureUsers.Add(1)
	return c.User.Create().SetUsername(fmt.Sprintf("%s%d", name, n)).SetNickname(name).SetPasswordHash("!").
		SetPublicID(30_000_000 + n).SaveX(viewer.SystemContext(context.Background())).ID
}
