package auth

import (
	"fmt"
	"strings"

	"github.com/nyaruka/phonenumbers"

	"github.com/parley-im/parley/internal/platform/apperr"
)

// DefaultPhoneRegion is the region a phone number without a country code
// belongs to unless the server is configured otherwise.
const DefaultPhoneRegion = "CN"

// PhoneInputMax is the longest phone number accepted as written, in bytes:
// fifteen digits with a country code, an international prefix and
// separators fit, and the parser never sees an unbounded input.
const PhoneInputMax = 32

// NormalizePhone parses a phone number as people write it and returns its
// E.164 form (+8613912345588). It is the one way a phone enters Parley, so
// that 13912345588, +86 139-1234-5588 and 008613912345588 are one account,
// one sign-in key and one key of SMS codes. A number without a leading + or
// the international prefix of region (00 in CN) is read as a number of
// region, an ISO 3166 code such as "CN". Besides digits only spaces,
// dashes, dots, parentheses and a leading + are accepted: the parser would
// otherwise read letters as a keypad's (1-800-FLOWERS) and drop an
// extension. Empty is PHONE_REQUIRED; anything that is not a valid number
// is PHONE_INVALID, both at field.
func NormalizePhone(raw, region, field string) (string, error) {
	p := strings.TrimSpace(raw)
	if p == "" {
		return "", apperr.Input(apperr.ReasonPhoneRequired, field, "phone is required")
	}
	if len(p) > PhoneInputMax || !phoneChars(p) {
		return "", apperr.Input(apperr.ReasonPhoneInvalid, field,
			"phone %q is not a phone number: digits with an optional leading +, spaces, dashes, dots and parentheses", apperr.Clip(p))
	}
	n, err := phonenumbers.Parse(p, region)
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return "", apperr.Input(apperr.ReasonPhoneInvalid, field, "phone %q is not a valid number", apperr.Clip(p))
	}
	return phonenumbers.Format(n, phonenumbers.E164), nil
}

// phoneChars reports whether p holds only what a written phone number may:
// digits, a + first, and the separators people type between groups. At
// least one digit is required so that separators alone are refused here.
func phoneChars(p string) bool {
	digits := 0
	for i, r := range p {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' && i == 0:
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return false
		}
	}
	return digits > 0
}

// CheckPhoneRegion refuses a default phone region the parser does not
// know, so that a typo in the configuration stops the server at start
// instead of refusing every phone without a country code.
func CheckPhoneRegion(region string) error {
	if !phonenumbers.GetSupportedRegions()[region] {
		return fmt.Errorf("phone region %q is not a known region code (such as CN or US)", region)
	}
	return nil
}
