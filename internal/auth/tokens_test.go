package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"strings"
	"testing"
	"time"
)

// forge builds a compact JWT by hand: header alg as given, signed with HMAC
// over sum (nil: no signature at all).
func forge(t *testing.T, alg string, sum func() hash.Hash, secret []byte, claims map[string]any) string {
	t.Helper()
	enc := base64.RawURLEncoding
	header, err := json.Marshal(map[string]any{"alg": alg, "typ": "JWT"})
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	unsigned := enc.EncodeToString(header) + "." + enc.EncodeToString(payload)
	if sum == nil {
		return unsigned + "."
	}
	mac := hmac.New(sum, secret)
	mac.Write([]byte(unsigned))
	return unsigned + "." + enc.EncodeToString(mac.Sum(nil))
}

// TestVerifyOnlyHS256 checks that a token is accepted only when its header
// names HS256 and it carries a valid HS256 signature: "alg: none" (in any
// case), another HMAC, an asymmetric algorithm or an unknown one is refused,
// signed or not, even over a signature made with the right secret.
func TestVerifyOnlyHS256(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	tokens, err := NewTokens(secret, time.Hour, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Unix()
	claims := map[string]any{"sub": "7", "sid": 3, "typ": kindAccess, "iat": now, "exp": now + 600}

	// The control: a hand-built HS256 token passes, as does one we issue.
	c, err := tokens.Verify(forge(t, "HS256", sha256.New, secret, claims), kindAccess)
	if err != nil || c.UserID != 7 || c.SessionID != 3 {
		t.Fatalf("HS256 token refused: %+v, %v", c, err)
	}
	issued, _, err := tokens.issue(Claims{UserID: 7, SessionID: 3, Kind: kindAccess})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tokens.Verify(issued, kindAccess); err != nil {
		t.Fatalf("issued token refused: %v", err)
	}

	sums := map[string]func() hash.Hash{"unsigned": nil, "HMAC-SHA256": sha256.New, "HMAC-SHA512": sha512.New}
	for _, alg := range []string{"none", "None", "NONE", "", "HS512", "HS384", "hs256", "RS256", "ES256", "PS256", "EdDSA", "HS256 "} {
		for name, sum := range sums {
			t.Run(fmt.Sprintf("alg %q %s", alg, name), func(t *testing.T) {
				raw := forge(t, alg, sum, secret, claims)
				_, err := tokens.Verify(raw, kindAccess)
				if !errors.Is(err, errBadToken) {
					t.Fatalf("Verify = %v, want errBadToken", err)
				}
			})
		}
	}
	// The JWS JSON serialization of a valid token: Parley issues and
	// accepts compact tokens only.
	raw, _ := json.Marshal(map[string]string{"protected": strings.Split(issued, ".")[0], "payload": strings.Split(issued, ".")[1], "signature": strings.Split(issued, ".")[2]})
	if _, err := tokens.Verify(string(raw), kindAccess); !errors.Is(err, errBadToken) {
		t.Fatalf("JSON serialization: Verify = %v, want errBadToken", err)
	}
	// An issued token with only its header swapped keeps a valid HS256
	// signature over the original header, not over the new one.
	parts := strings.Split(issued, ".")
	for _, alg := range []string{"none", "HS512", "RS256"} {
		h, _ := json.Marshal(map[string]any{"alg": alg, "typ": "JWT"})
		for _, sig := range []string{parts[2], ""} {
			raw := base64.RawURLEncoding.EncodeToString(h) + "." + parts[1] + "." + sig
			if _, err := tokens.Verify(raw, kindAccess); !errors.Is(err, errBadToken) {
				t.Fatalf("header swapped to %s (signature %q): Verify = %v, want errBadToken", alg, sig, err)
			}
		}
	}
}

// TestVerifyWellFormed: a token signed with the right secret is still
// refused without a numeric exp, and in any spelling but the canonical one
// (a last character differing only in its spare bits decodes to the same
// signature under a lenient decoder).
func TestVerifyWellFormed(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	tokens, err := NewTokens(secret, time.Hour, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Unix()
	base := map[string]any{"sub": "7", "sid": 3, "typ": kindAccess, "iat": now}
	with := func(exp any) map[string]any {
		c := map[string]any{}
		for k, v := range base {
			c[k] = v
		}
		if exp != nil {
			c["exp"] = exp
		}
		return c
	}
	if _, err := tokens.Verify(forge(t, "HS256", sha256.New, secret, with(now+600)), kindAccess); err != nil {
		t.Fatalf("control refused: %v", err)
	}
	for name, exp := range map[string]any{"no exp": nil, "string exp": fmt.Sprint(now + 600), "object exp": map[string]any{"n": now + 600}, "null exp": json.RawMessage("null")} {
		if _, err := tokens.Verify(forge(t, "HS256", sha256.New, secret, with(exp)), kindAccess); !errors.Is(err, errBadToken) {
			t.Errorf("%s: got %v, want a bad token", name, err)
		}
	}

	good := forge(t, "HS256", sha256.New, secret, with(now+600))
	sig := good[strings.LastIndexByte(good, '.')+1:]
	raw, _ := base64.RawURLEncoding.DecodeString(sig)
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	variants := 0
	for _, r := range alphabet {
		other := sig[:len(sig)-1] + string(r)
		if other == sig {
			continue
		}
		decoded, err := base64.RawURLEncoding.DecodeString(other)
		if err != nil || string(decoded) != string(raw) {
			continue // a different signature: refused for that reason anyway
		}
		variants++
		if _, err := tokens.Verify(good[:len(good)-len(sig)]+other, kindAccess); !errors.Is(err, errBadToken) {
			t.Errorf("non-canonical signature %q accepted", other)
		}
	}
	if variants == 0 {
		t.Fatal("no non-canonical spelling found: the test proves nothing")
	}
}
