package limits_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/client"
	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/99designs/gqlgen/graphql/introspection"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/parley-im/parley/graph/limits"
)

var schema = gqlparser.MustLoadSchema(&ast.Source{Name: "schema.graphqls", Input: `
	type Query {
		viewer: User!
		users(first: Int, last: Int, after: String): UserConnection!
	}
	type User {
		id: ID!
		name: String!
		friends(first: Int, last: Int): UserConnection!
		posts: [Post!]!
	}
	type UserConnection {
		edges: [UserEdge!]!
		totalCount: Int!
	}
	type UserEdge {
		node: User!
		cursor: String!
	}
	type Post {
		id: ID!
		title: String!
	}
`})

// operation parses and validates query against schema.
func operation(t *testing.T, query string) *ast.OperationDefinition {
	t.Helper()
	return operationOf(t, schema, query)
}

// operationOf parses and validates query, one operation, against s.
func operationOf(t *testing.T, s *ast.Schema, query string) *ast.OperationDefinition {
	t.Helper()
	doc, errs := gqlparser.LoadQueryWithRules(s, query, nil)
	require.Empty(t, errs)
	require.Len(t, doc.Operations, 1)
	return doc.Operations[0]
}

func TestCost(t *testing.T) {
	tests := []struct {
		name      string
		query     string
		vars      map[string]any
		listSize  int
		wantDepth int
		wantCost  int
	}{
		{
			name:      "plain fields",
			query:     `{ viewer { id name } }`,
			wantDepth: 2,
			wantCost:  3,
		},
		{
			name:      "__typename is free",
			query:     `{ __typename viewer { __typename id } }`,
			wantDepth: 2,
			wantCost:  2,
		},
		{
			// users: 1 + 10*(edges: 1 + (node: 1 + (friends: 1 + 100*3)))
			name: "nested connections multiply",
			query: `{ users(first: 10) { edges { node {
				friends(first: 100) { edges { node { id } } }
			} } } }`,
			wantDepth: 7,
			wantCost:  3031,
		},
		{
			name:      "larger of first and last",
			query:     `{ users(first: 5, last: 20) { totalCount } }`,
			wantDepth: 2,
			wantCost:  21,
		},
		{
			name:      "negative first counts as zero",
			query:     `{ users(first: -5) { totalCount } }`,
			wantDepth: 2,
			wantCost:  1,
		},
		{
			name:      "first from a coerced variable",
			query:     `query($n: Int) { users(first: $n) { totalCount } }`,
			vars:      map[string]any{"n": int64(50)},
			wantDepth: 2,
			wantCost:  51,
		},
		{
			name:      "first from a JSON-decoded variable",
			query:     `query($n: Int) { users(first: $n) { totalCount } }`,
			vars:      map[string]any{"n": float64(50)},
			wantDepth: 2,
			wantCost:  51,
		},
		{
			name:      "null first falls back to 1",
			query:     `query($n: Int) { users(first: $n) { totalCount } }`,
			vars:      map[string]any{"n": nil},
			wantDepth: 2,
			wantCost:  2,
		},
		{
			name:      "list without first or last, default size",
			query:     `{ viewer { posts { id title } } }`,
			wantDepth: 3,
			wantCost:  4,
		},
		{
			name:      "list without first or last, configured size",
			query:     `{ viewer { posts { id title } } }`,
			listSize:  20,
			wantDepth: 3,
			wantCost:  42,
		},
		{
			name: "fragments count where spread",
			query: `{ a: viewer { ...Friends } b: viewer { ...Friends } }
				fragment Friends on User { id friends(first: 3) { totalCount } }`,
			wantDepth: 3,
			wantCost:  12,
		},
		{
			// viewer: 1 + (friends: 1 + 2*(edges: 1 + (node: 1 + 2)))
			name: "nested fragments",
			query: `{ viewer { ...Outer } }
				fragment Outer on User { friends(first: 2) { edges { node { ...Inner } } } }
				fragment Inner on User { id name }`,
			wantDepth: 5,
			wantCost:  10,
		},
		{
			name:      "inline fragments",
			query:     `{ viewer { ... on User { id ... { name } } } }`,
			wantDepth: 2,
			wantCost:  3,
		},
		{
			name:      "each alias counts",
			query:     `{ a: viewer { id } b: viewer { id } c: viewer { id } }`,
			wantDepth: 2,
			wantCost:  6,
		},
		{
			name:      "skipped fields count",
			query:     `query($skip: Boolean!) { viewer { id name @skip(if: $skip) } }`,
			vars:      map[string]any{"skip": true},
			wantDepth: 2,
			wantCost:  3,
		},
		{
			// __type: 1 + (name: 1 + fields: 1 + 1*(name: 1))
			name:      "introspection has cost but no depth",
			query:     `{ viewer { id } __type(name: "User") { name fields { name } } }`,
			wantDepth: 2,
			wantCost:  6,
		},
		{
			name: "multiplication saturates",
			query: `{ users(first: 2000000000) { edges { node {
				friends(first: 2000000000) { totalCount }
			} } } }`,
			wantDepth: 5,
			wantCost:  math.MaxInt32,
		},
		{
			name:      "huge variables saturate",
			query:     `query($n: Int) { users(first: $n) { totalCount } }`,
			vars:      map[string]any{"n": json.Number("1e300")},
			wantDepth: 2,
			wantCost:  math.MaxInt32,
		},
		{
			name:      "addition saturates",
			query:     `query($n: Int) { a: users(first: $n) { totalCount } b: users(first: $n) { totalCount } }`,
			vars:      map[string]any{"n": int64(math.MaxInt64)},
			wantDepth: 2,
			wantCost:  math.MaxInt32,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			depth, cost := limits.Limits{DefaultListSize: tt.listSize}.Cost(operation(t, tt.query), tt.vars)
			assert.Equal(t, tt.wantDepth, depth, "depth")
			assert.Equal(t, tt.wantCost, cost, "cost")
		})
	}
}

func TestCostOfIntrospectionQuery(t *testing.T) {
	depth, cost := limits.Limits{}.Cost(operation(t, introspection.Query), nil)
	assert.Zero(t, depth)
	// MaxCost must allow this for GraphiQL; it changes with gqlgen's query.
	assert.Equal(t, 226, cost)
}

// TestCostOfFragmentCycle builds the operation by hand: validation rejects
// fragment cycles, but Cost must not loop on an unvalidated operation.
func TestCostOfFragmentCycle(t *testing.T) {
	a := &ast.FragmentDefinition{Name: "A"}
	b := &ast.FragmentDefinition{Name: "B"}
	a.SelectionSet = ast.SelectionSet{field("x", &ast.FragmentSpread{Name: "B", Definition: b})}
	b.SelectionSet = ast.SelectionSet{field("y", &ast.FragmentSpread{Name: "A", Definition: a})}
	op := &ast.OperationDefinition{SelectionSet: ast.SelectionSet{&ast.FragmentSpread{Name: "A", Definition: a}}}

	depth, cost := limits.Limits{}.Cost(op, nil)

	assert.Equal(t, 2, depth)
	assert.Equal(t, 2, cost)
}

// TestCostOfFragmentFanOut spreads each of 100 fragments twice in the next:
// 2^100 fields once expanded, which Cost measures without expanding.
func TestCostOfFragmentFanOut(t *testing.T) {
	const levels = 100
	next := ast.SelectionSet{field("leaf")}
	for i := range levels {
		def := &ast.FragmentDefinition{Name: fmt.Sprint("F", i), SelectionSet: next}
		spread := &ast.FragmentSpread{Name: def.Name, Definition: def}
		next = ast.SelectionSet{field("a", spread), field("b", spread)}
	}
	op := &ast.OperationDefinition{SelectionSet: next}

	depth, cost := limits.Limits{}.Cost(op, nil)

	assert.Equal(t, levels+1, depth)
	assert.Equal(t, math.MaxInt32, cost)
}

// field is an unvalidated field: it has no definition, so no multiplier.
func field(name string, selections ...ast.Selection) *ast.Field {
	return &ast.Field{Name: name, Alias: name, SelectionSet: selections}
}

func TestValidateRejectsNegativeLimits(t *testing.T) {
	assert.NoError(t, limits.Limits{}.Validate(nil))
	assert.Error(t, limits.Limits{MaxCost: -1}.Validate(nil))
}

// TestHandler runs the extension in a gqlgen server whose resolvers always
// answer {"viewer":null}: only operations within the limits get there.
func TestHandler(t *testing.T) {
	srv := handler.New(&graphql.ExecutableSchemaMock{
		SchemaFunc: func() *ast.Schema { return schema },
		ExecFunc: func(ctx context.Context) graphql.ResponseHandler {
			return graphql.OneShot(&graphql.Response{Data: json.RawMessage(`{"viewer":null}`)})
		},
	})
	srv.AddTransport(transport.POST{})
	srv.Use(limits.Limits{MaxDepth: 12, MaxCost: 1000})
	c := client.New(srv)

	post := func(t *testing.T, query string, options ...client.Option) []gqlError {
		t.Helper()
		resp, err := c.RawPost(query, options...)
		require.NoError(t, err)
		var errs []gqlError
		if resp.Errors != nil {
			require.NoError(t, json.Unmarshal(resp.Errors, &errs))
		}
		return errs
	}

	t.Run("within limits", func(t *testing.T) {
		assert.Empty(t, post(t, `{ viewer { id } }`))
	})

	t.Run("introspection within the depth limit", func(t *testing.T) {
		assert.Empty(t, post(t, introspection.Query))
	})

	t.Run("too deep", func(t *testing.T) {
		query := `{ viewer {` + strings.Repeat(` friends(first: 1) { edges { node {`, 4) +
			` id ` + strings.Repeat(`} } }`, 4) + ` } }`
		requireRefused(t, post(t, query), "query depth 14 exceeds the limit of 12", limits.ReasonDepth, 12, 14)
	})

	t.Run("too costly through a variable", func(t *testing.T) {
		errs := post(t, `query($n: Int) { users(first: $n) { totalCount } }`, client.Var("n", 5000))
		requireRefused(t, errs, "query cost 5001 exceeds the limit of 1000", limits.ReasonCost, 1000, 5001)
	})
}

// gqlError is one error of a response.
type gqlError struct {
	Message    string         `json:"message"`
	Extensions map[string]any `json:"extensions"`
}

// requireRefused checks that errs is the one refusal of a limit: message,
// and the extensions code, reason, limit and actual.
func requireRefused(t *testing.T, errs []gqlError, message, reason string, limit, actual float64) {
	t.Helper()
	require.Len(t, errs, 1)
	assert.Equal(t, message, errs[0].Message)
	assert.Equal(t, map[string]any{
		"code":   limits.ErrorCode,
		"reason": reason,
		"limit":  limit,
		"actual": actual,
	}, errs[0].Extensions)
}
