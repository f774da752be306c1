//go:build ignore

// entc generates the ent data layer and, through entgql, the GraphQL types of
// every entity (graph/ent.graphqls). It runs from the module root, as
// entgql's internal/todo does: go generate ./... (see graph/gen.go).
package main

import (
	"log"
	"strings"

	"entgo.io/contrib/entgql"
	"entgo.io/ent/entc"
	"entgo.io/ent/entc/gen"
	"github.com/vektah/gqlparser/v2/ast"
)

func main() {
	ex, err := entgql.NewExtension(
		entgql.WithConfigPath("./gqlgen.yml"),
		entgql.WithSchemaGenerator(),
		entgql.WithSchemaPath("./graph/ent.graphqls"),
		entgql.WithNodeDescriptor(false),
		entgql.WithSchemaHook(describe),
	)
	if err != nil {
		log.Fatalf("creating entgql extension: %v", err)
	}
	err = entc.Generate("./ent/schema", &gen.Config{
		Features: []gen.Feature{
			gen.FeaturePrivacy,
			gen.FeatureEntQL,
			gen.FeatureLock,
			gen.FeatureModifier,
			gen.FeatureUpsert,
			gen.FeatureExecQuery,
			gen.FeatureGlobalID,
		},
	}, entc.Extensions(ex))
	if err != nil {
		log.Fatalf("running ent codegen: %v", err)
	}
}

// describe gives the generated GraphQL types the descriptions entgql leaves
// out: each entity's is its schema.Comment annotation, each id field says
// what the id is for, and Query and Cursor say what they are. Fields and
// edges take their ent Comment already.
func describe(g *gen.Graph, s *ast.Schema) error {
	for _, n := range g.Nodes {
		def := s.Types[n.Name]
		if def == nil {
			continue
		}
		if c, ok := n.Annotations["Comment"].(map[string]any); ok {
			if text, _ := c["Text"].(string); text != "" {
				def.Description = text
			}
		}
		// entgql drops an edge's Comment when it makes the edge a Relay
		// connection.
		for _, e := range n.Edges {
			if f := def.Fields.ForName(camel(e.Name)); f != nil && f.Description == "" {
				f.Description = e.Comment()
			}
		}
		// An enum of a field says what the field's values mean, where
		// entgql names only the field.
		for _, f := range n.Fields {
			name := n.Name + pascal(f.Name)
			if a, ok := f.Annotations["EntGQL"].(map[string]any); ok {
				if t, _ := a["Type"].(string); t != "" { // named by entgql.Type
					name = t
				}
			}
			if e := s.Types[name]; f.IsEnum() && e != nil && e.Kind == ast.Enum && f.Comment() != "" {
				e.Description = "The values of " + n.Name + "." + camel(f.Name) + ": " + f.Comment()
			}
		}
		if id := def.Fields.ForName("id"); id != nil && id.Description == "" {
			id.Description = "The " + words(n.Name) + "'s global id: what node(id:) and every ID argument take."
		}
	}
	if q := s.Types["Query"]; q != nil {
		q.Description = "What a client may read. Fields that need a signed-in viewer fail with UNAUTHENTICATED without one."
	}
	if c := s.Types["Cursor"]; c != nil {
		c.Description = "An opaque position in a connection (a Relay cursor): pass an edge's cursor, or pageInfo's startCursor or endCursor, back as before or after. Never build or parse one."
	}
	return nil
}

// words is a type name as a description writes it: ProjectInvite is
// "project invite".
func words(name string) string {
	var b strings.Builder
	for i, r := range name {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return strings.ToLower(b.String())
}

// camel is an edge's GraphQL field name: relation_types is relationTypes.
func camel(name string) string {
	parts := strings.Split(name, "_")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}

// pascal is a field's name as entgql puts it in a type name: join_mode is
// JoinMode.
func pascal(name string) string {
	c := camel(name)
	return strings.ToUpper(c[:1]) + c[1:]
}
