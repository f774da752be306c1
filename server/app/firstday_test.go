package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/server/app"
	"github.com/parley-im/parley/server/apptest"
)

const refreshMutation = `mutation($r: String!) { refreshToken(refreshToken: $r) { accessToken refreshToken } }`

type pair struct{ AccessToken, RefreshToken string }

// refresh trades r for a pair, or returns the response that refused it.
func (s *server) refresh(r string) (pair, response) {
	s.T.Helper()
	rsp := s.Do("", refreshMutation, map[string]any{"r": r})
	var out struct{ RefreshToken pair }
	if len(rsp.Errors) == 0 {
		require.NoError(s.T, json.Unmarshal(rsp.Data, &out))
	}
	return out.RefreshToken, rsp
}

// TestRefreshReuseInterval: two tabs that refresh with the same token at
// once both get a working pair of the one session; the session is not
// forked (whichever pair refreshes first moves it on, and the older token
// after that is a replay that ends it).
func TestRefreshReuseInterval(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		alice := s.Register("alice", nil)

		// Two tabs at once.
		var wg sync.WaitGroup
		pairs := make([]pair, 2)
		errs := make([]response, 2)
		for i := range pairs {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				pairs[i], errs[i] = s.refresh(alice.Refresh)
			}(i)
		}
		wg.Wait()
		for i := range pairs {
			require.Empty(t, errs[i].Errors, "tab %d", i)
			s.OK(pairs[i].AccessToken, `{ me { id } }`, nil, nil)
		}

		// One tab refreshes first, the other then replays the token it
		// holds, of the same generation: both still signed in.
		next, rsp := s.refresh(pairs[0].RefreshToken)
		require.Empty(t, rsp.Errors)
		replayed, rsp := s.refresh(pairs[1].RefreshToken)
		require.Empty(t, rsp.Errors, "the token just used, within the interval")
		s.OK(next.AccessToken, `{ me { id } }`, nil, nil)
		s.OK(replayed.AccessToken, `{ me { id } }`, nil, nil)

		// A token two rotations old is a replay however soon: the session ends.
		_, rsp = s.refresh(alice.Refresh)
		require.Equal(t, "SESSION_REVOKED", rsp.Reason())
		rsp = s.Do(next.AccessToken, `{ me { id } }`, nil)
		require.Equal(t, "SESSION_REVOKED", rsp.Reason())
	})
}

// TestRefreshReplayAfterInterval: the token just used, presented again
// after the reuse interval, ends the session (a tiny interval here).
func TestRefreshReplayAfterInterval(t *testing.T) {
	eachConfigured(t, func(c *app.Config) { c.RefreshReuse = time.Microsecond }, func(t *testing.T, s *server) {
		alice := s.Register("alice", nil)
		next, rsp := s.refresh(alice.Refresh)
		require.Empty(t, rsp.Errors)
		_, rsp = s.refresh(alice.Refresh) // past the interval
		require.Equal(t, "SESSION_REVOKED", rsp.Reason())
		require.Equal(t, "SESSION_REVOKED", s.Do(next.AccessToken, `{ me { id } }`, nil).Reason())
	})
}

// TestUnauthorizedIsGraphQLError: a request refused for its token is a 401
// whose body is a GraphQL error with code and reason, in the media type its
// Accept negotiates, so that Apollo Client shows a GraphQL error.
func TestUnauthorizedIsGraphQLError(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		for accept, media := range map[string]string{
			"": "application/json", "application/json": "application/json", "*/*": "application/json",
			"application/graphql-response+json, application/json;q=0.9": "application/graphql-response+json",
		} {
			req, err := s.Request(context.Background(), "not.a.token", `{ me { id } }`, nil)
			require.NoError(t, err)
			req.Header.Del("Accept")
			if accept != "" {
				req.Header.Set("Accept", accept)
			}
			res, body, err := s.Exchange(req)
			require.NoError(t, err)
			require.Equal(t, http.StatusUnauthorized, res.StatusCode, accept)
			require.Equal(t, media, res.Header.Get("Content-Type"), accept)
			var r response
			require.NoError(t, json.Unmarshal(body, &r), "%s", body)
			require.Equal(t, "UNAUTHENTICATED", r.Code(), "%s", body)
			require.Equal(t, "TOKEN_INVALID", r.Reason(), "%s", body)
			require.NotEmpty(t, r.Errors[0].Message)
		}
	})
}

// TestSignInWithTokenAttached: login and register with a valid token
// attached are refused with CONFLICT / ALREADY_SIGNED_IN (the client would
// switch accounts while its session stays open); without it they work.
func TestSignInWithTokenAttached(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		alice := s.Register("alice", nil)
		register := `mutation { register(input: {username: "carol", password: "password1"}) { accessToken } }`
		s.Fails(alice.Token, apptest.LoginMutation, apptest.LoginVars("alice", "password1"), "CONFLICT", "ALREADY_SIGNED_IN")
		s.Fails(alice.Token, register, nil, "CONFLICT", "ALREADY_SIGNED_IN")
		s.OK("", register, nil, nil)
		s.OK("", apptest.LoginMutation, apptest.LoginVars("alice", "password1"), nil)
	})
}

// TestEveryErrorHasReason: the errors a library raises carry a reason as
// Parley's own do: node(id:) of nothing, an unknown persisted query, a
// parse error, and the BAD_REQUEST answers to what is not a GraphQL
// request.
func TestEveryErrorHasReason(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		alice := s.Register("alice", nil)
		s.Fails(alice.Token, `{ node(id: "858993459200") { id } }`, nil, "NOT_FOUND", "NOT_FOUND")
		s.Fails(alice.Token, `{ nodes(ids: ["858993459200"]) { id } }`, nil, "NOT_FOUND", "NOT_FOUND")
		s.Fails(alice.Token, `{`, nil, "GRAPHQL_PARSE_FAILED", "GRAPHQL_PARSE_FAILED")

		post := func(contentType, body string) response {
			t.Helper()
			req, err := http.NewRequest("POST", s.URL+"/query", strings.NewReader(body))
			require.NoError(t, err)
			req.Header.Set("Content-Type", contentType)
			return s.DecodeOK(req)
		}
		apq := `{"extensions":{"persistedQuery":{"version":1,"sha256Hash":"` + strings.Repeat("ab", 32) + `"}}}`
		for _, c := range []struct{ contentType, body, code, reason string }{
			{"application/json", apq, "PERSISTED_QUERY_NOT_FOUND", "PERSISTED_QUERY_NOT_FOUND"},
			{"application/json", `[1]`, "BAD_REQUEST", "MALFORMED_REQUEST"},
			{"application/json", `{}`, "BAD_REQUEST", "MALFORMED_REQUEST"},
			{"text/plain", `{ __typename }`, "BAD_REQUEST", "UNSUPPORTED_MEDIA_TYPE"},
			{"application/json", `{"query":"subscription { events { cursor } }"}`, "BAD_REQUEST", "SUBSCRIPTION_OVER_HTTP"},
			{"application/json", `{"query":"{ __typename }","extensions":{"persistedQuery":{"version":1,"sha256Hash":"00"}}}`, "BAD_REQUEST", "MALFORMED_REQUEST"},
		} {
			r := post(c.contentType, c.body)
			require.Equal(t, c.code, r.Code(), "%s: %+v", c.body, r.Errors)
			require.Equal(t, c.reason, r.Reason(), "%s: %+v", c.body, r.Errors)
		}
		req, _ := http.NewRequest("GET", s.URL+"/query?query="+url.QueryEscape(`mutation { logout }`), nil)
		r := s.DecodeOK(req)
		require.Equal(t, "MUTATION_OVER_GET", r.Reason(), "%+v", r.Errors)
	})
}
