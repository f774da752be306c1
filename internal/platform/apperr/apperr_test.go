package apperr

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/parley-im/parley/ent"
)

func TestClip(t *testing.T) {
	long := strings.Repeat("界", EchoMax)
	for in, want := range map[string]string{
		"":                          "",
		"a@b":                       "a@b",
		long:                        long, // exactly EchoMax characters: whole
		long + "x":                  long + "…",
		strings.Repeat("x", 1<<20):  strings.Repeat("x", EchoMax) + "…",
		strings.Repeat("\xff", 100): strings.Repeat("\xff", EchoMax) + "…", // invalid UTF-8 counts byte by byte
	} {
		if got := Clip(in); got != want {
			t.Errorf("Clip(%.20q… of %d bytes) = %.20q… of %d bytes, want %d bytes", in, len(in), got, len(got), len(want))
		}
	}
	// Never cuts a character in half.
	for _, in := range []string{strings.Repeat("é", 200), strings.Repeat("😀", 200), "a" + strings.Repeat("界", 200)} {
		got := Clip(in)
		if !utf8.ValidString(got) || utf8.RuneCountInString(got) != EchoMax+1 {
			t.Errorf("Clip(%.12q…) = %q", in, got)
		}
	}
}

// TestInputMessageBounded: an error quoting a megabyte of input through
// Clip stays a sentence.
func TestInputMessageBounded(t *testing.T) {
	huge := strings.Repeat("x", 1<<20)
	e := Input(ReasonEmailInvalid, "input.email", "email %q is not a valid address", Clip(huge))
	if want := fmt.Sprintf("email %q is not a valid address", strings.Repeat("x", EchoMax)+"…"); e.Message != want {
		t.Fatalf("message %.100q…, want %q", e.Message, want)
	}
}

// TestSearchQuery: a query is trimmed; empty is QUERY_TOO_SHORT where the
// search needs one and nothing otherwise; longer than SearchMax characters
// (not bytes) is TOO_LONG; both name the query argument.
func TestSearchQuery(t *testing.T) {
	for _, c := range []struct {
		in       string
		required bool
		want     string
		reason   string
	}{
		{"  go ", true, "go", ""},
		{" \t", false, "", ""},
		{" \t", true, "", ReasonQueryTooShort},
		{strings.Repeat("界", SearchMax), true, strings.Repeat("界", SearchMax), ""},
		{strings.Repeat("界", SearchMax+1), false, "", ReasonTooLong},
	} {
		got, err := SearchQuery(c.in, c.required)
		if c.reason == "" {
			if err != nil || got != c.want {
				t.Errorf("SearchQuery(%q, %v) = %q, %v; want %q", c.in, c.required, got, err, c.want)
			}
			continue
		}
		if e, ok := As(err); !ok || e.Reason != c.reason || e.Field != "query" || e.Code != BadUserInput {
			t.Errorf("SearchQuery(%q, %v): %v; want %s on query", c.in, c.required, err, c.reason)
		}
	}
}

// TestFound: a loaded object passes; ent's not-found is the object's
// NOT_FOUND; another error is kept, wrapped with the operation.
func TestFound(t *testing.T) {
	v, err := Found(7, nil, "room", "room: load")
	if v != 7 || err != nil {
		t.Fatalf("Found(7, nil) = %v, %v", v, err)
	}
	_, err = Found(0, &ent.NotFoundError{}, "room", "room: load")
	if e, ok := As(err); !ok || e.Code != NotFound || e.Message != "room not found" {
		t.Fatalf("not found: %v", err)
	}
	cause := errors.New("connection reset")
	_, err = Found(0, cause, "room", "room: load")
	if _, ok := As(err); ok || !errors.Is(err, cause) || !strings.HasPrefix(err.Error(), "room: load: ") {
		t.Fatalf("other error: %v", err)
	}
}
