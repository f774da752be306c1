package scalar

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"testing"

	"github.com/parley-im/parley/internal/platform/apperr"
)

// FuzzUnmarshalID checks the ID scalar on any client value: as a string, as
// a JSON number (how variables arrive), as a float64 and as an int64. It
// never panics, accepts only 1..2^53, refuses everything else with
// BAD_USER_INPUT INVALID_ID (quoting at most a clipped prefix of the value),
// and what it accepts marshals back to the
// canonical decimal string, which reads back to the same id.
func FuzzUnmarshalID(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string, fl float64, n int64) {
		for _, v := range []any{s, json.Number(s), fl, n} {
			id, err := UnmarshalID(v)
			if err != nil {
				e, ok := apperr.As(err)
				if !ok || e.Code != apperr.BadUserInput || e.Reason != ReasonInvalidID {
					t.Fatalf("UnmarshalID(%#v): %v is not INVALID_ID", v, err)
				}
				if len(e.Message) > 10*apperr.EchoMax+64 {
					t.Fatalf("UnmarshalID: a message of %d bytes echoes the input", len(e.Message))
				}
				continue
			}
			if id <= 0 || id > 1<<53 {
				t.Fatalf("UnmarshalID(%#v) = %d, out of range", v, id)
			}
			if f, ok := v.(float64); ok && (math.IsNaN(f) || float64(id) != f) {
				t.Fatalf("UnmarshalID(%v) = %d, not the same number", f, id)
			}
			var buf bytes.Buffer
			MarshalID(id).MarshalGQL(&buf)
			want := strconv.Quote(strconv.Itoa(id))
			if buf.String() != want {
				t.Fatalf("MarshalID(%d) = %s, want %s", id, buf.String(), want)
			}
			again, err := UnmarshalID(strconv.Itoa(id))
			if err != nil || again != id {
				t.Fatalf("round trip of %d: %d, %v", id, again, err)
			}
		}
	})
}
