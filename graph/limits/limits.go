// Package limits rejects GraphQL operations that are too deep, too costly or
// hold too many mutation fields before gqlgen executes them. The rate limits
// the domain packages spend from are internal/platform/ratelimit's.
//
// gqlgen's extension.FixedComplexityLimit relies on generated complexity
// functions, which entgql doesn't generate, and ignores first/last, so a
// query asking for 10 users with 100 friends each costs the same as one asking
// for one of each. Limits computes its own cost from the operation alone:
//
//	srv.Use(limits.Limits{MaxDepth: 12, MaxCost: 10_000, MaxMutationFields: 10})
package limits

import (
	"context"
	"encoding/json"
	"errors"
	"math"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/parley-im/parley/internal/platform/apperr"
)

// ErrorCode is the extensions.code of the error returned for an operation
// over a limit, so clients can tell it apart from other failures.
const ErrorCode = "QUERY_TOO_COMPLEX"

// Reasons, in extensions.reason, say which limit an operation exceeded.
const (
	ReasonDepth = "DEPTH_LIMIT"
	ReasonCost  = "COST_LIMIT"
)

// ReasonMutations is the reason of an operation with more top-level
// mutation fields than MaxMutationFields. Its code is BAD_USER_INPUT, not
// QUERY_TOO_COMPLEX: the operation is cheap to measure but asks for too
// many writes, and the client fixes it by splitting it into several
// requests.
const ReasonMutations = "TOO_MANY_MUTATIONS"

// maxCost caps every intermediate cost, so a query such as
// users(first: 2000000000) { friends(first: 2000000000) { ... } } saturates
// instead of overflowing into a small or negative number that would pass the
// limit. It fits an int on every platform and a JSON number exactly.
const maxCost = math.MaxInt32

// Limits is a gqlgen handler extension that rejects an operation whose depth
// or cost, as computed by Cost, exceeds a limit. It runs after validation and
// before execution, so a rejected operation runs no resolver.
type Limits struct {
	// MaxDepth is the deepest field nesting allowed; zero disables the check.
	MaxDepth int
	// MaxCost is the highest cost allowed; zero disables the check.
	MaxCost int
	// DefaultListSize is the number of items assumed for a list field called
	// without first or last; zero means 1. Keep it at 1 with Relay
	// connections: their edges list is already bounded by first/last on the
	// connection field, and a larger value would count it twice.
	DefaultListSize int
	// MaxMutationFields is the most top-level fields a mutation operation
	// may hold, counting each alias and each field a fragment spreads;
	// zero disables the check. Aliases multiply writes: without it, one
	// request of 600 aliased addText with one large variable stores 600
	// texts, and rate limits consulted per field are the only brake.
	MaxMutationFields int
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = Limits{}

// ExtensionName names the extension in gqlgen's extension list.
func (Limits) ExtensionName() string {
	return "Limits"
}

// Validate rejects negative settings when the extension is added to the
// server, so a misconfiguration fails at startup instead of silently
// disabling a limit.
func (l Limits) Validate(graphql.ExecutableSchema) error {
	if l.MaxDepth < 0 || l.MaxCost < 0 || l.DefaultListSize < 0 || l.MaxMutationFields < 0 {
		return errors.New("limits: MaxDepth, MaxCost, DefaultListSize and MaxMutationFields must not be negative")
	}
	return nil
}

// MutateOperationContext measures the operation and returns an error if a
// mutation holds more than MaxMutationFields fields (BAD_USER_INPUT,
// TOO_MANY_MUTATIONS), or if it exceeds MaxDepth or MaxCost
// (QUERY_TOO_COMPLEX), checked in that order.
func (l Limits) MutateOperationContext(_ context.Context, opCtx *graphql.OperationContext) *gqlerror.Error {
	if op := opCtx.Operation; l.MaxMutationFields > 0 && op != nil && op.Operation == ast.Mutation {
		if n := MutationFields(op); n > l.MaxMutationFields {
			err := gqlerror.Errorf("an operation may hold at most %d mutation fields, this one holds %d: send them in several requests", l.MaxMutationFields, n)
			err.Extensions = map[string]any{
				"code":   string(apperr.BadUserInput),
				"reason": ReasonMutations,
				"limit":  l.MaxMutationFields,
				"actual": n,
			}
			return err
		}
	}
	depth, cost := l.Cost(opCtx.Operation, opCtx.Variables)
	if l.MaxDepth > 0 && depth > l.MaxDepth {
		return tooComplex(ReasonDepth, "depth", depth, l.MaxDepth)
	}
	if l.MaxCost > 0 && cost > l.MaxCost {
		return tooComplex(ReasonCost, "cost", cost, l.MaxCost)
	}
	return nil
}

// MutationFields counts the top-level fields of op: each alias once, each
// field of a fragment (inline or spread) at the top level once per spread,
// regardless of @skip and @include, and without __typename, which writes
// nothing. Every one of them would run its resolver. Each fragment is
// counted once and reused wherever it is spread, so fragments spreading
// each other several times cannot make the walk exponential (the count
// saturates at math.MaxInt32).
func MutationFields(op *ast.OperationDefinition) int {
	known := map[string]int{}
	expanding := map[string]bool{}
	var count func(set ast.SelectionSet) int
	count = func(set ast.SelectionSet) int {
		n := 0
		for _, selection := range set {
			switch selection := selection.(type) {
			case *ast.Field:
				if selection.Name != "__typename" {
					n = addCapped(n, 1)
				}
			case *ast.InlineFragment:
				n = addCapped(n, count(selection.SelectionSet))
			case *ast.FragmentSpread:
				// Validation rejects cycles, but be safe if it did not run.
				def := selection.Definition
				if def == nil || expanding[def.Name] {
					continue
				}
				c, ok := known[def.Name]
				if !ok {
					expanding[def.Name] = true
					c = count(def.SelectionSet)
					delete(expanding, def.Name)
					known[def.Name] = c
				}
				n = addCapped(n, c)
			}
		}
		return n
	}
	return count(op.SelectionSet)
}

// tooComplex builds the error for an operation whose measure (depth or cost)
// is actual, over limit.
func tooComplex(reason, measure string, actual, limit int) *gqlerror.Error {
	err := gqlerror.Errorf("query %s %d exceeds the limit of %d", measure, actual, limit)
	err.Extensions = map[string]any{
		"code":   ErrorCode,
		"reason": reason,
		"limit":  limit,
		"actual": actual,
	}
	return err
}

// Cost measures a validated operation with vars, the operation's coerced
// variable values (gqlgen's OperationContext.Variables). It is exported for
// tests and for logging the cost of accepted operations.
//
// Depth is the deepest field nesting: { viewer { friends { name } } } has
// depth 3. Fields under __schema and __type don't count, because GraphiQL's
// introspection query nests ofType nine times and would otherwise need a
// MaxDepth of about 15; they still count toward cost, which bounds how far a
// client can recurse through the introspection types.
//
// Cost sums, over every field, 1 plus its children's cost times a multiplier:
// the larger of its first and last Int arguments (negative counts as 0) when
// it has either, DefaultListSize for a list field with neither, else 1.
// __typename is free: it is answered without a resolver, and Apollo Client
// adds it to every selection set. Fields count once per alias and per place
// a fragment is spread, and regardless of @skip and @include, so the result
// bounds the work for any variable values. Costs saturate at math.MaxInt32.
func (l Limits) Cost(op *ast.OperationDefinition, vars map[string]any) (depth, cost int) {
	m := meter{
		vars:      vars,
		listSize:  max(l.DefaultListSize, 1),
		fragments: map[fragmentKey]measure{},
		expanding: map[string]bool{},
	}
	total := m.selectionSet(op.SelectionSet, false)
	return total.depth, total.cost
}

// measure is the depth and cost of a selection set.
type measure struct {
	depth, cost int
}

// fragmentKey identifies a fragment's measure: the same fragment has no depth
// when spread under __schema or __type.
type fragmentKey struct {
	name          string
	introspection bool
}

// meter walks one operation. It measures each fragment once and reuses the
// result wherever the fragment is spread, so fragments spreading each other
// several times can't make the walk exponential.
type meter struct {
	vars     map[string]any
	listSize int
	// fragments holds the measures computed so far.
	fragments map[fragmentKey]measure
	// expanding holds the fragments being walked, to break cycles:
	// validation rejects them, but Cost may be given an unvalidated operation.
	expanding map[string]bool
}

// selectionSet measures set, whose fields are under __schema or __type if
// introspection is true.
func (m *meter) selectionSet(set ast.SelectionSet, introspection bool) measure {
	var total measure
	for _, selection := range set {
		var part measure
		switch selection := selection.(type) {
		case *ast.Field:
			part = m.field(selection, introspection)
		case *ast.InlineFragment:
			part = m.selectionSet(selection.SelectionSet, introspection)
		case *ast.FragmentSpread:
			part = m.fragment(selection.Definition, introspection)
		}
		total.depth = max(total.depth, part.depth)
		total.cost = addCapped(total.cost, part.cost)
	}
	return total
}

// field measures field and its subtree: one level deeper than its children
// (unless under introspection), costing 1 plus their cost times its
// multiplier.
func (m *meter) field(field *ast.Field, introspection bool) measure {
	if field.Name == "__typename" {
		return measure{}
	}
	introspection = introspection || field.Name == "__schema" || field.Name == "__type"

	children := m.selectionSet(field.SelectionSet, introspection)
	if !introspection {
		children.depth++
	}
	children.cost = addCapped(1, mulCapped(m.multiplier(field), children.cost))
	return children
}

// fragment measures a spread of def, which is nil if the operation wasn't
// validated.
func (m *meter) fragment(def *ast.FragmentDefinition, introspection bool) measure {
	if def == nil || m.expanding[def.Name] {
		return measure{}
	}
	key := fragmentKey{def.Name, introspection}
	if known, ok := m.fragments[key]; ok {
		return known
	}
	m.expanding[def.Name] = true
	result := m.selectionSet(def.SelectionSet, introspection)
	delete(m.expanding, def.Name)
	m.fragments[key] = result
	return result
}

// multiplier is how many times field's children are counted: the number of
// items it returns at most, as far as the operation says.
func (m *meter) multiplier(field *ast.Field) int {
	args := field.ArgumentMap(m.vars)
	first, hasFirst := count(args["first"])
	last, hasLast := count(args["last"])
	switch {
	case hasFirst || hasLast:
		return max(first, last)
	case field.Definition != nil && field.Definition.Type.Elem != nil:
		return m.listSize
	default:
		return 1
	}
}

// count converts a first or last argument to a count between 0 and maxCost.
// Literals arrive as int64; variables as gqlgen coerced them (int64) or, when
// Cost is called directly, as decoded JSON (float64 or json.Number). It
// reports false for null or a non-numeric value.
func count(v any) (int, bool) {
	var n float64
	switch v := v.(type) {
	case int:
		n = float64(v)
	case int32:
		n = float64(v)
	case int64:
		n = float64(v)
	case float64:
		n = v
	case json.Number:
		f, err := v.Float64()
		if err != nil {
			return 0, false
		}
		n = f
	default:
		return 0, false
	}
	if math.IsNaN(n) {
		return 0, false
	}
	// Clamping as float64 avoids converting an out-of-range value to int.
	return int(min(max(n, 0), maxCost)), true
}

// addCapped returns a+b, or maxCost if that is larger; a and b are in
// [0, maxCost].
func addCapped(a, b int) int {
	if a > maxCost-b {
		return maxCost
	}
	return a + b
}

// mulCapped returns a*b, or maxCost if that is larger; a and b are in
// [0, maxCost].
func mulCapped(a, b int) int {
	if a != 0 && b > maxCost/a {
		return maxCost
	}
	return a * b
}
