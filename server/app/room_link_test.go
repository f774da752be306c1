package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/internal/platform/dbtest"
	"github.com/parley-im/parley/server/app"
	"github.com/parley-im/parley/server/apptest"
)

// roomCard is the JSON of GET /rooms/{id}.
type roomCard struct {
	ID, Name, Detail, Avatar, URL string
	MemberCount, OnlineCount      int
	Owner                         struct{ ID, Username string }
}

// openLink fetches path as a browser would (accept text/html) or as a
// script, without following redirects, and returns the response and body.
func openLink(t *testing.T, s *apptest.Server, path string, browser bool) (*http.Response, []byte) {
	t.Helper()
	c := s.Client
	c.HTTP = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequestWithContext(context.Background(), "GET", s.URL+path, nil)
	require.NoError(t, err)
	if browser {
		req.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	}
	res, body, err := c.Exchange(req)
	require.NoError(t, err)
	return res, body
}

// missingRoom checks a 404 JSON answer of GET /rooms/{id}.
func missingRoom(t *testing.T, res *http.Response, body []byte) {
	t.Helper()
	require.Equal(t, http.StatusNotFound, res.StatusCode, "%s", body)
	require.Contains(t, res.Header.Get("Content-Type"), "application/json")
	var out apptest.Response
	require.NoError(t, json.Unmarshal(body, &out), "%s", body)
	require.Equal(t, "NOT_FOUND", out.Code())
}

// TestRoomLink: the room's url opens: GET /rooms/{id} answers its public
// card as JSON (what an anonymous reader sees, nothing else), 404 JSON for
// a room that does not exist or was deleted; with a web app configured, a
// browser is redirected to the app's room page instead.
func TestRoomLink(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		k := newGrpKit(t, b)
		ann, bob := k.Register("ann", nil), k.Register("bob", nil)
		r := k.room(ann, "lobby", "all welcome")
		k.OK(bob.Token, rmJoin, roomVars(r), nil)

		res, body := openLink(t, k.Server, r.URL, false)
		require.Equal(t, http.StatusOK, res.StatusCode, "%s", body)
		require.Contains(t, res.Header.Get("Content-Type"), "application/json")
		var fields map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(body, &fields))
		keys := make([]string, 0, len(fields))
		for k := range fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		require.Equal(t, []string{"avatar", "createdAt", "detail", "id", "memberCount", "name", "onlineCount", "owner", "url"}, keys,
			"the public card: no conversation, no viewer's state")
		var card roomCard
		require.NoError(t, json.Unmarshal(body, &card))
		require.Equal(t, roomCard{
			ID: r.ID, Name: "lobby", Detail: "all welcome", URL: r.URL, MemberCount: 2,
			Owner: struct{ ID, Username string }{ann.ID, "ann"},
		}, card)
		var owner map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(fields["owner"], &owner))
		require.Len(t, owner, 2, "the owner's id and username only")

		// The online count is live.
		k.MustDial(bob.Token)
		k.online(bob)
		_, body = openLink(t, k.Server, r.URL, false)
		require.NoError(t, json.Unmarshal(body, &card))
		require.Equal(t, 1, card.OnlineCount)

		// Without a web app there is nothing to redirect to: browsers get
		// the card too.
		res, _ = openLink(t, k.Server, r.URL, true)
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.Contains(t, res.Header.Get("Content-Type"), "application/json")

		for _, path := range []string{"/rooms/999999", "/rooms/abc", "/rooms/" + ann.ID} {
			res, body := openLink(t, k.Server, path, false)
			missingRoom(t, res, body)
		}
		k.OK(ann.Token, rmDelete, roomVars(r), nil)
		res, body = openLink(t, k.Server, r.URL, false)
		missingRoom(t, res, body)

		// With a web app, a browser goes to its room page; scripts still
		// get JSON, and a missing room is a 404 either way.
		web := newServer(t, b, func(c *app.Config) { c.WebAppURL = "https://chat.example.com/app/" })
		host := web.Register("ann", nil)
		var out struct{ CreateRoom roomView }
		web.OK(host.Token, rmCreate, map[string]any{"in": map[string]any{"name": "hall"}}, &out)
		hall := out.CreateRoom
		res, body = openLink(t, web.Server, hall.URL, true)
		require.Equal(t, http.StatusFound, res.StatusCode, "%s", body)
		require.Equal(t, "https://chat.example.com/app/rooms/"+hall.ID, res.Header.Get("Location"))
		require.Contains(t, res.Header.Values("Vary"), "Accept")
		res, body = openLink(t, web.Server, hall.URL, false)
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.NoError(t, json.Unmarshal(body, &card))
		require.Equal(t, "hall", card.Name)
		res, body = openLink(t, web.Server, "/rooms/999999", true)
		missingRoom(t, res, body)
	})
}

// TestRoomLinkSetting: the web app's URL must be an absolute http or https
// URL without query or fragment, or the server does not start.
func TestRoomLinkSetting(t *testing.T) {
	for _, bad := range []string{"chat.example.com", "ftp://chat.example.com", "https://", "https://chat.example.com/?a=1", "https://chat.example.com/#x"} {
		cfg := apptest.Config(t, "")
		cfg.WebAppURL = bad
		_, err := app.New(context.Background(), cfg, apptest.Logger())
		require.ErrorContains(t, err, "PARLEY_WEB_APP_URL", bad)
	}
}
