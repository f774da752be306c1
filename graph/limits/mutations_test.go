package limits_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/stretchr/testify/require"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/parley-im/parley/graph/limits"
)

var writeSchema = gqlparser.MustLoadSchema(&ast.Source{Name: "write.graphqls", Input: `
	type Query { me: ID }
	type Mutation {
		add(text: String): ID
		remove(id: ID): Boolean
	}
`})

func writeOperation(t *testing.T, query string) *ast.OperationDefinition {
	t.Helper()
	return operationOf(t, writeSchema, query)
}

// TestMutationFields counts aliases, inline fragments and spreads, not
// __typename, and the directives do not matter.
func TestMutationFields(t *testing.T) {
	for _, c := range []struct {
		query string
		want  int
	}{
		{`mutation { add }`, 1},
		{`mutation { a: add b: add c: remove __typename }`, 3},
		{`mutation($s: Boolean!) { a: add @skip(if: $s) b: add @include(if: $s) }`, 2},
		{`mutation { ... on Mutation { a: add b: add } c: add }`, 3},
		{`mutation { ...two ...two } fragment two on Mutation { a: add b: remove }`, 4},
	} {
		require.Equal(t, c.want, limits.MutationFields(writeOperation(t, c.query)), c.query)
	}
}

// TestMutationFieldsFragmentFanOut: fragments that spread each other
// twice, twenty levels deep, are counted in linear time (2^20 fields) and
// refused.
func TestMutationFieldsFragmentFanOut(t *testing.T) {
	var b strings.Builder
	b.WriteString("mutation { ...f0 }\n")
	for i := range 20 {
		fmt.Fprintf(&b, "fragment f%d on Mutation { ...f%d ...f%d }\n", i, i+1, i+1)
	}
	b.WriteString("fragment f20 on Mutation { add }\n")
	op := writeOperation(t, b.String())
	require.Equal(t, 1<<20, limits.MutationFields(op))

	err := limits.Limits{MaxMutationFields: 10}.MutateOperationContext(context.Background(), &graphql.OperationContext{Operation: op})
	require.NotNil(t, err)
	require.Equal(t, "BAD_USER_INPUT", err.Extensions["code"])
	require.Equal(t, limits.ReasonMutations, err.Extensions["reason"])
	require.Equal(t, 1<<20, err.Extensions["actual"])

	query := writeOperation(t, `query { a: me b: me c: me }`)
	require.Nil(t, limits.Limits{MaxMutationFields: 1}.MutateOperationContext(context.Background(), &graphql.OperationContext{Operation: query}))
}
