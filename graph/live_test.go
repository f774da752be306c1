package graph

import (
	"bytes"
	"encoding/json"
	"strconv"
	"testing"
	"unicode/utf8"

	"entgo.io/contrib/entgql"
	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/internal/platform/apperr"
)

// TestPresentData: the ids of event data, at any depth and in lists, are
// given as global id strings; other numbers, strings and nulls are kept.
func TestPresentData(t *testing.T) {
	got, err := presentData(json.RawMessage(`{"userId": 12, "seq": 9007199254740993, "id": 3,
		"messageIds": [4, 5], "who": {"groupId": 6, "name": "x"}, "items": [{"roomId": 7}],
		"inviteId": "8", "quoteId": null, "forEveryone": true}`))
	require.NoError(t, err)
	out, err := json.Marshal(got)
	require.NoError(t, err)
	require.JSONEq(t, `{"userId": "12", "seq": 9007199254740993, "id": "3",
		"messageIds": ["4", "5"], "who": {"groupId": "6", "name": "x"}, "items": [{"roomId": "7"}],
		"inviteId": "8", "quoteId": null, "forEveryone": true}`, string(out))
	_, err = presentData(json.RawMessage(`[1]`))
	require.Error(t, err)
}

// FuzzStreamCursor checks the resume cursor of the event streams (events,
// notices, conversationEvents, projectChanges: their after argument). It
// never panics, accepts only non-negative decimal event ids, refuses
// anything else with BAD_USER_INPUT INVALID on the after field, and an
// accepted cursor formats back to a cursor that parses to the same id.
func FuzzStreamCursor(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseCursor(&s)
		if err != nil {
			e, ok := apperr.As(err)
			if !ok || e.Code != apperr.BadUserInput || e.Reason != apperr.ReasonInvalid || e.Field != "after" {
				t.Fatalf("parseCursor(%q): %v", s, err)
			}
			return
		}
		if n < 0 {
			t.Fatalf("parseCursor(%q) = %d", s, n)
		}
		if s == "" {
			if n != 0 {
				t.Fatalf("empty cursor = %d", n)
			}
			return
		}
		canonical := strconv.FormatInt(n, 10)
		if again, err := parseCursor(&canonical); err != nil || again != n {
			t.Fatalf("round trip of %q: %d, %v", s, again, err)
		}
	})
}

// FuzzRelayCursor checks entgql's Relay cursor, the after and before
// arguments of every connection (friends, messages, searchUsers, texts...).
// It never panics; a cursor it accepts marshals to a valid UTF-8 string
// that reads back to the same id, and that string is canonical: it
// marshals to itself. (A zero order value is omitted on the way out, so
// {ID:73 Value:0} reads back as {ID:73 Value:nil}: the corpus entry
// kkkA000000.)
func FuzzRelayCursor(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		var c entgql.Cursor[int]
		if err := c.UnmarshalGQL(s); err != nil {
			return // the presenter makes this BAD_USER_INPUT INVALID (apperr.clientMistake)
		}
		var buf bytes.Buffer
		c.MarshalGQL(&buf)
		quoted := buf.String()
		if !utf8.ValidString(quoted) {
			t.Fatalf("cursor %q marshals to invalid UTF-8", s)
		}
		plain, err := strconv.Unquote(quoted)
		if err != nil {
			t.Fatalf("cursor %q marshals to %s, not a string: %v", s, quoted, err)
		}
		var back entgql.Cursor[int]
		if err := back.UnmarshalGQL(plain); err != nil {
			t.Fatalf("cursor %q -> %q does not read back: %v", s, plain, err)
		}
		var again bytes.Buffer
		back.MarshalGQL(&again)
		if back.ID != c.ID || again.String() != quoted {
			t.Fatalf("cursor %q -> %+v %s -> %+v %s", s, c, quoted, back, again.String())
		}
	})
}
