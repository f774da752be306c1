package app_test

// What the server serves a front-end developer besides the API: the
// playground, and the schema as SDL.

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/graph"
	"github.com/parley-im/parley/internal/platform/dbtest"
	"github.com/parley-im/parley/server/apptest"
	"github.com/parley-im/parley/server/playground"
)

// TestPlayground: GET / is the playground, whose page and files come from
// this server only (every script and style sheet it names is served here,
// under a policy that allows nothing else), gzipped for a browser and
// revalidated by ETag; in production it is off unless switched on.
func TestPlayground(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		s := start(t, apptest.Config(t, b.URL(t)))
		res, body := s.Get("/", "", nil)
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.Equal(t, "text/html; charset=utf-8", res.Header.Get("Content-Type"))
		require.Equal(t, playground.ContentSecurityPolicy, res.Header.Get("Content-Security-Policy"))
		require.Contains(t, string(body), "<title>Parley playground</title>")
		require.NotRegexp(t, `(src|href)="(https?:)?//`, string(body), "the page names no other host")

		names := regexp.MustCompile(`(?:src|href)="(playground/[^"]+)"`).FindAllStringSubmatch(string(body), -1)
		require.Len(t, names, 7, "two style sheets and five scripts")
		for _, m := range names {
			res, js := s.Get("/"+m[1], "", nil)
			require.Equal(t, http.StatusOK, res.StatusCode, m[1])
			require.Regexp(t, `^text/(javascript|css); charset=utf-8$`, res.Header.Get("Content-Type"), m[1])
			require.NotEmpty(t, js, m[1])

			req, _ := http.NewRequest("GET", s.URL+"/"+m[1], nil)
			req.Header.Set("Accept-Encoding", "gzip")
			zres, err := http.DefaultTransport.RoundTrip(req)
			require.NoError(t, err)
			zipped, _ := io.ReadAll(zres.Body)
			zres.Body.Close()
			require.Equal(t, "gzip", zres.Header.Get("Content-Encoding"), m[1])
			zr, err := gzip.NewReader(bytes.NewReader(zipped))
			require.NoError(t, err)
			unzipped, err := io.ReadAll(zr)
			require.NoError(t, err)
			require.Equal(t, js, unzipped, m[1])

			req.Header.Set("If-None-Match", zres.Header.Get("ETag"))
			again, err := http.DefaultTransport.RoundTrip(req)
			require.NoError(t, err)
			again.Body.Close()
			require.Equal(t, http.StatusNotModified, again.StatusCode, m[1])
		}
		res, _ = s.Get("/playground/missing.js", "", nil)
		require.Equal(t, http.StatusNotFound, res.StatusCode)

		cfg := apptest.Config(t, b.URL(t))
		cfg.Production, cfg.Introspection, cfg.Playground = true, false, false
		off := start(t, cfg)
		for _, path := range []string{"/", "/playground/graphiql.min.js"} {
			res, _ := off.Get(path, "", nil)
			require.Equal(t, http.StatusNotFound, res.StatusCode, path)
		}
		cfg = apptest.Config(t, b.URL(t))
		cfg.Production, cfg.Introspection, cfg.Playground = true, false, true
		res, _ = start(t, cfg).Get("/", "", nil)
		require.Equal(t, http.StatusOK, res.StatusCode, "switched on in production")
	})
}

// TestSchemaSDL: outside production, GET /schema.graphql serves the schema
// as SDL (the committed schema.graphql), as plain UTF-8 text and to anyone;
// a production server answers 404, as it refuses introspection.
func TestSchemaSDL(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		s := newServer(t, b)
		res, body := s.Get("/schema.graphql", "", nil)
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.Equal(t, "text/plain; charset=utf-8", res.Header.Get("Content-Type"))
		require.Equal(t, graph.SDL(), string(body))
		require.Contains(t, string(body), "type Query {")
		require.NotContains(t, string(body), "@goField")

		prod := productionServer(t, b)
		res, _ = prod.Get("/schema.graphql", "", nil)
		require.Equal(t, http.StatusNotFound, res.StatusCode)
	})
}
