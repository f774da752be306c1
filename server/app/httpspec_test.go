package app_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/server/apptest"
)

// TestGraphQLOverHTTP covers what httpspec.go changes from gqlgen's
// transports: status codes and the data entry by Accept, malformed
// requests, the body limit, subscriptions and mutations where they do not
// belong, and APQ, which must keep working. test/clients runs graphql-http's
// full audit on top of this.
func TestGraphQLOverHTTP(t *testing.T) {
	t.Parallel()
	cfg := apptest.Config(t, "")
	cfg.MaxBodyBytes = 4096
	s := start(t, cfg)

	post := func(accept, body string) httpReply {
		t.Helper()
		req, _ := http.NewRequest("POST", s.URL+"/query", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		return sendHTTP(t, req)
	}
	get := func(params url.Values) httpReply {
		t.Helper()
		req, _ := http.NewRequest("GET", s.URL+"/query?"+params.Encode(), nil)
		return sendHTTP(t, req)
	}
	code := func(r httpReply) string {
		t.Helper()
		var errs []apptest.Error
		require.NoError(t, json.Unmarshal(r.body["errors"], &errs), "errors of %v", r.body)
		require.NotEmpty(t, errs)
		c, _ := errs[0].Extensions["code"].(string)
		return c
	}
	const appJSON, graphQLResponse = "application/json", "application/graphql-response+json"

	t.Run("request errors: 200 with application/json, 400 with graphql-response+json, never data", func(t *testing.T) {
		for _, c := range []struct{ body, code string }{
			{`{"query":"{"}`, "GRAPHQL_PARSE_FAILED"},
			{`{"query":"{ noSuchField }"}`, "GRAPHQL_VALIDATION_FAILED"},
			{`{"query":"query($id: ID!) { node(id: $id) { id } }","variables":{"id":null}}`, "GRAPHQL_VALIDATION_FAILED"},
		} {
			for accept, status := range map[string]int{appJSON: 200, "": 200, graphQLResponse: 400} {
				r := post(accept, c.body)
				require.Equal(t, status, r.status, "%s with Accept %q", c.body, accept)
				require.Equal(t, c.code, code(r), c.body)
				require.NotContains(t, r.body, "data", c.body)
			}
		}
	})

	t.Run("field errors: 200 with data, whatever the Accept", func(t *testing.T) {
		for _, accept := range []string{appJSON, graphQLResponse} {
			r := post(accept, `{"query":"mutation { logout }"}`)
			require.Equal(t, 200, r.status)
			require.Equal(t, accept, r.header.Get("Content-Type"))
			require.Equal(t, "UNAUTHENTICATED", code(r))
			require.JSONEq(t, `null`, string(r.body["data"]))
		}
	})

	t.Run("malformed requests: 400 BAD_REQUEST, and the server keeps serving", func(t *testing.T) {
		for _, body := range []string{``, `{"query":`, `[]`, `{"query":1}`, `{"qeury":"{ me { id } }"}`,
			`{"query":"{ me { id } }","variables":"x"}`, `{"query":"{ me { id } }","operationName":false}`,
			`{"query":"{ me { id } }","extensions":[1]}`, `{"query":"{ me { id } }"} {}`} {
			r := post(appJSON, body)
			require.Equal(t, 400, r.status, body)
			require.Equal(t, "BAD_REQUEST", code(r), body)
		}
		r := post(appJSON, `{"query":"{ me { id } }"}`)
		require.Equal(t, 200, r.status)
		require.JSONEq(t, `{"me":null}`, string(r.body["data"]))
	})

	t.Run("a body over the limit: 413", func(t *testing.T) {
		r := post(appJSON, `{"query":"{ me { id } }","variables":{"pad":"`+strings.Repeat("x", 5000)+`"}}`)
		require.Equal(t, http.StatusRequestEntityTooLarge, r.status)
		require.Equal(t, "BAD_REQUEST", code(r))
	})

	t.Run("a subscription over plain HTTP is refused at once", func(t *testing.T) {
		// Signed in, since an anonymous one fails anyway; gqlgen held this
		// request until its deadline, waiting for an event.
		req, _ := http.NewRequest("POST", s.URL+"/query", strings.NewReader(`{"query":"subscription { events { cursor } }"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+s.Register("sam", nil).Token)
		started := time.Now()
		r := sendHTTP(t, req)
		require.Less(t, time.Since(started), 5*time.Second)
		require.Equal(t, 200, r.status)
		require.Equal(t, "BAD_REQUEST", code(r))
	})

	t.Run("GET runs queries, and refuses mutations with 405", func(t *testing.T) {
		r := get(url.Values{"query": {"query($n: String!) { __type(name: $n) { name } }"}, "variables": {`{"n":"User"}`}})
		require.Equal(t, 200, r.status)
		require.JSONEq(t, `{"__type":{"name":"User"}}`, string(r.body["data"]))

		r = get(url.Values{"query": {"mutation { logout }"}})
		require.Equal(t, http.StatusMethodNotAllowed, r.status)
		require.Equal(t, "POST", r.header.Get("Allow"))

		r = get(url.Values{"query": {"{ me { id } }"}, "variables": {`[1]`}})
		require.Equal(t, 400, r.status)
	})

	t.Run("automatic persisted queries still work", func(t *testing.T) {
		query := "{ me { id } }"
		sum := sha256.Sum256([]byte(query))
		ext := `{"persistedQuery":{"version":1,"sha256Hash":"` + hex.EncodeToString(sum[:]) + `"}}`

		r := post(appJSON, `{"extensions":`+ext+`}`)
		require.Equal(t, 200, r.status)
		require.Equal(t, "PERSISTED_QUERY_NOT_FOUND", code(r))

		r = post(appJSON, `{"query":"`+query+`","extensions":`+ext+`}`)
		require.Equal(t, 200, r.status)
		require.JSONEq(t, `{"me":null}`, string(r.body["data"]))

		r = get(url.Values{"extensions": {ext}})
		require.Equal(t, 200, r.status)
		require.JSONEq(t, `{"me":null}`, string(r.body["data"]))
	})
}

// httpReply is an HTTP response to a GraphQL request, its body decoded into
// a map to tell a missing entry from a null one.
type httpReply struct {
	status int
	header http.Header
	body   map[string]json.RawMessage
}

// sendHTTP sends req and decodes the reply.
func sendHTTP(t *testing.T, req *http.Request) (r httpReply) {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	require.NoError(t, json.Unmarshal(raw, &r.body), "%d %s", res.StatusCode, raw)
	r.status, r.header = res.StatusCode, res.Header
	return r
}
