package apperr

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
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
