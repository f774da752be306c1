package app_test

import (
	"context"
	"fmt"
	"regexp"
	"sync/atomic"
	"testing"

	"github.com/go-chi/chi/v5/middleware"
	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/internal/platform/dbtest"
	"github.com/parley-im/parley/server/apptest"
)

// settingsRead matches a statement that reads the settings table, as ent's
// debug driver reports it on either database.
var settingsRead = regexp.MustCompile("(?i)SELECT .* FROM [`\"]settings[`\"]")

// TestSendMessageReadsSettingsOnce: a direct sendMessage checks the private
// and stranger chat switches and masks its text with one read of the
// settings table, and an update of the settings earlier in the same
// transaction is seen by what follows it.
func TestSendMessageReadsSettingsOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		cfg := apptest.Config(t, b.URL(t))
		var reads, statements atomic.Int64
		cfg.TraceSQL = func(ctx context.Context, args ...any) {
			if middleware.GetReqID(ctx) == "" {
				return // the hub, presence: not the request's
			}
			statements.Add(1)
			if settingsRead.MatchString(fmt.Sprint(args...)) {
				reads.Add(1)
			}
		}
		s := start(t, cfg)
		root, alice, bob := s.Register("root", nil), s.Register("alice", nil), s.Register("bob", nil)
		s.admin(root)
		const update = `mutation($in: SettingsInput!) { updateSettings(input: $in) { appName } }`
		s.OK(root.Token, update, map[string]any{"in": map[string]any{"dirtyWords": []string{"darn"}}}, nil)

		for _, step := range []string{"first contact with a stranger", "in the open conversation"} {
			reads.Store(0)
			statements.Store(0)
			sent := s.Send(alice, bob, "darn it")
			require.Equal(t, "**** it", sent.Text, step)
			require.EqualValues(t, 1, reads.Load(), "%s: settings reads (of %d statements)", step, statements.Load())
			t.Logf("%s: %d statements, 1 of them reading the settings", step, statements.Load())
		}

		// One operation, one transaction: the first send memoises the
		// settings, the update changes them, the second send sees that.
		const batch = `mutation($to: ID!, $in: SettingsInput!) {
			before: sendMessage(input: {to: $to, text: "zonk"}) { text }
			update: updateSettings(input: $in) { appName }
			after: sendMessage(input: {to: $to, text: "zonk"}) { text }
		}`
		var out struct{ Before, After struct{ Text string } }
		s.OK(root.Token, batch, map[string]any{"to": bob.ID, "in": map[string]any{"dirtyWords": []string{"zonk"}}}, &out)
		require.Equal(t, "zonk", out.Before.Text)
		require.Equal(t, "****", out.After.Text)

		// And the next request reads the committed settings.
		require.Equal(t, "darn it", s.Send(alice, bob, "darn it").Text)
		require.Equal(t, "****", s.Send(alice, bob, "zonk").Text)
	})
}
