package auth

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/parley-im/parley/internal/platform/apperr"
)

// FuzzValidateRegistration checks the account field rules on any input:
// they never panic, refuse with BAD_USER_INPUT naming an input field (with a
// message of bounded size, whatever the input's), and
// what they accept is normalised (trimmed username of 3 to 32 characters,
// lower-case email of at most 254 bytes, phone in E.164 form: a + and at
// most 15 digits) and accepted again unchanged.
func FuzzValidateRegistration(f *testing.F) {
	f.Fuzz(func(t *testing.T, username, password, email, phone, nickname string) {
		r := &Registration{Username: username, Password: password, Nickname: nickname}
		if email != "" {
			r.Email = &email
		}
		if phone != "" {
			r.Phone = &phone
		}
		err := ValidateRegistration(r, DefaultPhoneRegion)
		if err != nil {
			e, ok := apperr.As(err)
			if !ok || e.Code != apperr.BadUserInput || e.Reason == "" || !strings.HasPrefix(e.Field, "input.") {
				t.Fatalf("ValidateRegistration: %v", err)
			}
			// Input is quoted clipped (apperr.Clip), each character at
			// worst a 10-byte escape: the message never grows with it.
			if len(e.Message) > 10*apperr.EchoMax+128 {
				t.Fatalf("ValidateRegistration: a message of %d bytes echoes the input", len(e.Message))
			}
			return
		}
		if n := utf8.RuneCountInString(r.Username); n < UsernameMin || n > UsernameMax || r.Username != strings.TrimSpace(r.Username) {
			t.Fatalf("accepted username %q", r.Username)
		}
		if len(r.Password) > PasswordMax {
			t.Fatalf("accepted a password of %d bytes", len(r.Password))
		}
		if r.Email != nil && (len(*r.Email) > 254 || *r.Email != strings.ToLower(*r.Email)) {
			t.Fatalf("accepted email %q", *r.Email)
		}
		if r.Phone != nil {
			digits, plus := strings.CutPrefix(*r.Phone, "+")
			if !plus || len(digits) < 2 || len(digits) > 15 || strings.Trim(digits, "0123456789") != "" {
				t.Fatalf("accepted phone %q", *r.Phone)
			}
		}
		again := *r
		if err := ValidateRegistration(&again, DefaultPhoneRegion); err != nil || again.Username != r.Username ||
			(r.Phone != nil && *again.Phone != *r.Phone) {
			t.Fatalf("normalised registration refused or changed: %v", err)
		}
	})
}
