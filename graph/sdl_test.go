package graph_test

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/graph"
)

// TestCommittedSDL: the committed schema.graphql is the schema the server
// runs, printed; go generate ./... rewrites it.
func TestCommittedSDL(t *testing.T) {
	committed, err := os.ReadFile("../schema.graphql")
	require.NoError(t, err)
	require.Equal(t, graph.SDLFileHeader+graph.SDL(), string(committed), "schema.graphql is stale: run go generate ./...")
}

// TestSDLIsPublic: the printed schema keeps none of the code generator's
// directives, neither their definitions nor their uses.
func TestSDLIsPublic(t *testing.T) {
	sdl := graph.SDL()
	for _, d := range []string{"@goField", "@goModel", "@goTag", "@goExtraField", "directive @"} {
		require.NotContains(t, sdl, d)
	}
}
