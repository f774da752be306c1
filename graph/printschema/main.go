// Command printschema writes schema.graphql, the schema as a client sees it
// (graph.SDL), at the module root. go generate runs it after gqlgen (see
// graph/gen.go), so the committed file follows every change of the schema.
package main

import (
	"log"
	"os"

	"github.com/parley-im/parley/graph"
)

func main() {
	out := "schema.graphql"
	if len(os.Args) > 1 {
		out = os.Args[1]
	}
	if err := os.WriteFile(out, []byte(graph.SDLFileHeader+graph.SDL()), 0o644); err != nil {
		log.Fatalf("writing %s: %v", out, err)
	}
}
