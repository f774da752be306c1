package app_test

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/server/app"
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
