package app

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/validator/core"
	"github.com/vektah/gqlparser/v2/validator/rules"

	"github.com/parley-im/parley/internal/platform/apperr"
)

// refuseIntrospection answers __schema and __type with FORBIDDEN /
// INTROSPECTION_DISABLED when introspection is off. Without it gqlgen
// refuses them with an uncoded error, which the presenter must treat as
// an internal failure: logged as a server error and shown as
// INTERNAL_SERVER_ERROR, although it is the client's request that is not
// allowed.
type refuseIntrospection struct{}

func (refuseIntrospection) ExtensionName() string                   { return "RefuseIntrospection" }
func (refuseIntrospection) Validate(graphql.ExecutableSchema) error { return nil }

func (refuseIntrospection) InterceptField(ctx context.Context, next graphql.Resolver) (any, error) {
	fc := graphql.GetFieldContext(ctx)
	if fc != nil && fc.Object == "Query" && (fc.Field.Name == "__schema" || fc.Field.Name == "__type") &&
		graphql.GetOperationContext(ctx).DisableIntrospection {
		return nil, apperr.Deny(apperr.ReasonIntrospectionDisabled, "introspection is disabled on this server")
	}
	return next(ctx)
}

// rulesWithoutSuggestions is gqlparser's default validation with every rule
// that has a variant without suggestions swapped for it. A suggestion ("Did
// you mean \"changePassword\"?") names fields, arguments, types and enum
// values of the schema, which is exactly what turning introspection off
// hides. gqlgen's SetDisableSuggestion swaps only two of these rules.
func rulesWithoutSuggestions() *rules.Rules {
	r := rules.NewDefaultRules()
	for _, swap := range []struct {
		name string
		rule core.Rule
	}{
		{rules.FieldsOnCorrectTypeRule.Name, rules.FieldsOnCorrectTypeRuleWithoutSuggestions},
		{rules.ScalarLeafsRule.Name, rules.ScalarLeafsRuleWithoutSuggestions},
		{rules.KnownArgumentNamesRule.Name, rules.KnownArgumentNamesRuleWithoutSuggestions},
		{rules.KnownTypeNamesRule.Name, rules.KnownTypeNamesRuleWithoutSuggestions},
		{rules.ValuesOfCorrectTypeRule.Name, rules.ValuesOfCorrectTypeRuleWithoutSuggestions},
	} {
		r.RemoveRule(swap.name)
		r.AddRule(swap.rule.Name, swap.rule.RuleFunc)
	}
	return r
}
