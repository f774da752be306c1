// Command printschema writes schema.graphql, the schema as a client sees it
// (graph.SDL), at the module root. go generate runs it after gqlgen (see
// graph/gen.go), so the committed file follows every change of the schema.
package main

import (
	"cmp"
	"flag"
	"log"
	"os"

	"github.com/parley-im/parley/graph"
)

func main() {
	flag.Parse()
	out := cmp.Or(flag.Arg(0), "schema.graphql")
	if err := os.WriteFile(out, []byte(graph.SDLFileHeader+graph.SDL()), 0o644); err != nil {
		log.Fatalf("writing %s: %v", out, err)
	}
}
