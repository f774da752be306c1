package app_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/graph"
	"github.com/parley-im/parley/internal/platform/dbtest"
)

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
