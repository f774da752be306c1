package files

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// Signer makes and checks the tokens of private file URLs. A token names a
// file, the user it was issued to and an expiry, under an HMAC-SHA256. The
// server serves the file as that user, through the File privacy policy: a
// member who leaves a conversation loses its files even through URLs he was
// given before. Whoever holds the URL reads the file until it expires: that
// is what lets <img src> work without an Authorization header, and why URLs
// expire.
//
// Expiries are rounded up to a multiple of the TTL, so every URL of one file
// for one user is the same string for a while and browsers can cache it; a
// token is valid for between one and two TTLs.
type Signer struct {
	key []byte
	ttl time.Duration
	now func() time.Time
}

// signingLabel separates the URL key from any other key derived from the
// same secret.
const signingLabel = "parley/files/url-token/v1"

// NewSigner derives the signing key from secret (the server's JWT secret:
// every instance has it, and rotating it also retires every file URL).
func NewSigner(secret []byte, ttl time.Duration, now func() time.Time) *Signer {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(signingLabel))
	return &Signer{key: mac.Sum(nil), ttl: ttl, now: now}
}

// TokenState is the outcome of checking a token.
type TokenState int

// The states of a token.
const (
	TokenInvalid TokenState = iota // malformed, forged, or for another file
	TokenExpired                   // authentic but out of date
	TokenValid
)

// Token returns the token that lets user uid read file fileID.
func (s *Signer) Token(fileID, uid int) string {
	step := int64(s.ttl / time.Second)
	if step < 1 {
		step = 1
	}
	exp := (s.now().Unix()/step + 2) * step
	return s.token(fileID, uid, exp)
}

func (s *Signer) token(fileID, uid int, exp int64) string {
	e, u := strconv.FormatInt(exp, 36), strconv.FormatInt(int64(uid), 36)
	return e + "." + u + "." + s.mac(fileID, u, e)
}

func (s *Signer) mac(fileID int, uid, exp string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(strconv.Itoa(fileID) + ":" + uid + ":" + exp))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Verify checks token for file fileID and returns the user it was issued
// to. Only an authentic token can be reported expired.
func (s *Signer) Verify(fileID int, token string) (uid int, state TokenState) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return 0, TokenInvalid
	}
	e, u, sig := parts[0], parts[1], parts[2]
	if !hmac.Equal([]byte(sig), []byte(s.mac(fileID, u, e))) {
		return 0, TokenInvalid
	}
	exp, err1 := strconv.ParseInt(e, 36, 64)
	id, err2 := strconv.ParseInt(u, 36, 64)
	if err1 != nil || err2 != nil || id <= 0 || int64(int(id)) != id {
		return 0, TokenInvalid
	}
	if s.now().Unix() >= exp {
		return int(id), TokenExpired
	}
	return int(id), TokenValid
}
