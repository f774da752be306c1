package limits_test

import (
	"math"
	"testing"

	"github.com/vektah/gqlparser/v2"

	"github.com/parley-im/parley/graph/limits"
)

// FuzzCost measures any query that parses and validates against the test
// schema (the limits never see others): it must not panic, must return
// quickly whatever fragments spread each other, and stays within
// [0, math.MaxInt32] with a depth no larger than the query's tokens.
func FuzzCost(f *testing.F) {
	l := limits.Limits{MaxDepth: 12, MaxCost: 20000}
	f.Fuzz(func(t *testing.T, query string, first int64) {
		if len(query) > 4096 {
			return
		}
		doc, errs := gqlparser.LoadQueryWithRules(schema, query, nil)
		if len(errs) > 0 || len(doc.Operations) == 0 {
			return
		}
		for _, op := range doc.Operations {
			depth, cost := l.Cost(op, map[string]any{"n": first, "first": first})
			if cost < 0 || cost > math.MaxInt32 || depth < 0 || depth > len(query) {
				t.Fatalf("Cost(%q) = depth %d, cost %d", query, depth, cost)
			}
		}
	})
}
