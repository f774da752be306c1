package graph

import (
	"bytes"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/formatter"
)

// publicDirectives are the directives a client's tools understand: those of
// the GraphQL specification. Every other directive of the schema files
// (gqlgen's @goField and @goModel, for one) only steers code generation and
// is left out of SDL.
var publicDirectives = map[string]bool{"deprecated": true, "oneOf": true, "specifiedBy": true}

var sdl = sync.OnceValue(func() string {
	return PrintSDL(NewExecutableSchema(Config{}).Schema())
})

// SDL is the schema as a client sees it, printed in the schema definition
// language: types sorted by name, every description kept, the code
// generator's directives left out. It is the content of the committed
// schema.graphql, which client code generators read.
func SDL() string { return sdl() }

// PrintSDL prints schema as SDL does, leaving schema untouched (the
// executable schema shares it): one definition after another, sorted by
// name, a blank line between them.
func PrintSDL(schema *ast.Schema) string {
	var parts []string
	print := func(format func(formatter.Formatter)) {
		var buf bytes.Buffer
		format(formatter.NewFormatter(&buf, formatter.WithIndent("  ")))
		if buf.Len() > 0 {
			parts = append(parts, buf.String())
		}
	}
	// The schema definition, only if an operation type has another name.
	head := &ast.Schema{Query: schema.Query, Mutation: schema.Mutation, Subscription: schema.Subscription}
	print(func(f formatter.Formatter) { f.FormatSchema(head) })
	for _, name := range slices.Sorted(maps.Keys(schema.Directives)) {
		if publicDirectives[name] {
			one := &ast.Schema{Directives: map[string]*ast.DirectiveDefinition{name: schema.Directives[name]}}
			print(func(f formatter.Formatter) { f.FormatSchema(one) })
		}
	}
	for _, name := range slices.Sorted(maps.Keys(schema.Types)) {
		one := &ast.Schema{Types: map[string]*ast.Definition{name: publicDefinition(schema.Types[name])}}
		print(func(f formatter.Formatter) { f.FormatSchema(one) })
	}
	return strings.Join(parts, "\n")
}

// publicDefinition is a copy of def with only the public directives.
func publicDefinition(def *ast.Definition) *ast.Definition {
	d := *def
	d.Directives = publicOnly(def.Directives)
	d.Fields = make(ast.FieldList, len(def.Fields))
	for i, f := range def.Fields {
		field := *f
		field.Directives = publicOnly(f.Directives)
		field.Arguments = make(ast.ArgumentDefinitionList, len(f.Arguments))
		for j, a := range f.Arguments {
			arg := *a
			arg.Directives = publicOnly(a.Directives)
			field.Arguments[j] = &arg
		}
		d.Fields[i] = &field
	}
	d.EnumValues = make(ast.EnumValueList, len(def.EnumValues))
	for i, v := range def.EnumValues {
		value := *v
		value.Directives = publicOnly(v.Directives)
		d.EnumValues[i] = &value
	}
	return &d
}

func publicOnly(list ast.DirectiveList) ast.DirectiveList {
	var out ast.DirectiveList
	for _, d := range list {
		if publicDirectives[d.Name] {
			out = append(out, d)
		}
	}
	return out
}
