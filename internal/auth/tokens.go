package auth

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/jwtauth/v5"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

// Token kinds, carried in the "typ" claim so that a refresh token is never
// accepted as an access token.
const (
	kindAccess  = "access"
	kindRefresh = "refresh"
)

// Claims is what Parley puts in a token: the user, the session (device) and,
// for refresh tokens, the session's refresh generation.
type Claims struct {
	UserID     int
	SessionID  int
	Generation int
	Kind       string
	ExpiresAt  time.Time
}

// Tokens signs and verifies HS256 JWTs through jwtauth.
type Tokens struct {
	ja         *jwtauth.JWTAuth
	AccessTTL  time.Duration
	RefreshTTL time.Duration
	now        func() time.Time
}

// NewTokens returns a signer with the given secret (at least 32 bytes).
func NewTokens(secret []byte, accessTTL, refreshTTL time.Duration) (*Tokens, error) {
	if len(secret) < 32 {
		return nil, fmt.Errorf("auth: JWT secret must be at least 32 bytes, got %d", len(secret))
	}
	return &Tokens{ja: jwtauth.New("HS256", secret, nil), AccessTTL: accessTTL, RefreshTTL: refreshTTL, now: time.Now}, nil
}

func (t *Tokens) issue(c Claims) (string, time.Time, error) {
	ttl := t.AccessTTL
	if c.Kind == kindRefresh {
		ttl = t.RefreshTTL
	}
	now := t.now()
	exp := now.Add(ttl)
	claims := map[string]any{
		"sub": fmt.Sprint(c.UserID),
		"sid": c.SessionID,
		"typ": c.Kind,
		"iat": now.Unix(),
		"exp": exp.Unix(),
	}
	if c.Kind == kindRefresh {
		claims["gen"] = c.Generation
	}
	_, s, err := t.ja.Encode(claims)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("auth: sign token: %w", err)
	}
	return s, exp, nil
}

// errBadToken and errExpired are the two ways a token fails; callers map them
// to the TOKEN_INVALID and TOKEN_EXPIRED reasons.
var (
	errBadToken = errors.New("auth: invalid token")
	errExpired  = errors.New("auth: token expired")
)

// Verify checks the form (wellFormed), the signature (HS256 only: "alg:
// none" and other algorithms fail), the expiry and the kind.
func (t *Tokens) Verify(raw, kind string) (Claims, error) {
	if !wellFormed(raw) {
		return Claims{}, errBadToken
	}
	tok, err := jwtauth.VerifyToken(t.ja, raw)
	if err != nil {
		if errors.Is(jwtauth.ErrorReason(err), jwtauth.ErrExpired) {
			return Claims{}, errExpired
		}
		return Claims{}, errBadToken
	}
	var c Claims
	if _, err := fmt.Sscan(tok.Subject(), &c.UserID); err != nil {
		return Claims{}, errBadToken
	}
	c.SessionID = intClaim(tok, "sid")
	c.Generation = intClaim(tok, "gen")
	c.Kind, _ = claim[string](tok, "typ")
	c.ExpiresAt = tok.Expiration()
	if c.Kind != kind || c.SessionID == 0 || c.UserID == 0 {
		return Claims{}, errBadToken
	}
	return c, nil
}

// wellFormed reports whether raw is one compact JWS as Parley issues them:
// three segments in canonical unpadded base64url, a protected header that
// names HS256, and a numeric exp claim.
//
// Canonical, because a lenient decoder ignores the spare bits of the last
// character, so several spellings of one signature would all verify: a
// token is accepted as it was issued or not at all. HS256, because jwtauth
// verifies with jwt.WithKey(HS256, secret), and jwx's static key provider
// then checks an HS256 signature whatever the header's alg says: "none",
// HS512 or RS256 over an HS256 signature would pass. A numeric exp, because
// jwx accepts a token without one, which would never expire.
func wellFormed(raw string) bool {
	segments := strings.Split(raw, ".")
	if len(segments) != 3 {
		return false
	}
	strict := base64.RawURLEncoding.Strict()
	for _, seg := range segments {
		if _, err := strict.DecodeString(seg); err != nil || seg == "" {
			return false
		}
	}
	payload, _ := strict.DecodeString(segments[1])
	var claims struct {
		Exp json.RawMessage `json:"exp"`
	}
	if json.Unmarshal(payload, &claims) != nil {
		return false
	}
	if _, err := strconv.ParseFloat(string(claims.Exp), 64); err != nil {
		return false // missing, null, a string or an object
	}
	msg, err := jws.Parse([]byte(raw))
	if err != nil {
		return false
	}
	sigs := msg.Signatures()
	return len(sigs) == 1 && sigs[0].ProtectedHeaders().Algorithm() == jwa.HS256
}

func claim[T any](tok jwt.Token, name string) (T, bool) {
	v, ok := tok.Get(name)
	t, isT := v.(T)
	return t, ok && isT
}

func intClaim(tok jwt.Token, name string) int {
	f, _ := claim[float64](tok, name)
	return int(f)
}
