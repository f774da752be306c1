package graph_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/parley-im/parley/graph"
)

// undocumented lists what a client sees without a description: every type,
// field and input field must have one (enum values and arguments may, when
// their name says it all).
func undocumented(s *ast.Schema) []string {
	var missing []string
	for _, name := range sortedKeys(s.Types) {
		def := s.Types[name]
		if def.BuiltIn || strings.HasPrefix(name, "__") {
			continue
		}
		if strings.TrimSpace(def.Description) == "" {
			missing = append(missing, name)
		}
		for _, f := range def.Fields {
			if strings.HasPrefix(f.Name, "__") {
				continue
			}
			if strings.TrimSpace(f.Description) == "" {
				missing = append(missing, name+"."+f.Name)
			}
		}
	}
	return missing
}

// badWords are what a description must not say: the project's internal
// references (seed ids, issue numbers) and the first person, since a
// description speaks to the client about the server.
var badWords = regexp.MustCompile(`\bS\d+-\d\d\b|(?i:\bissue\s*#|#\d+\b)|\bI(?:'m|'ve|'d)?\b|(?i:\b(?:me|my|myself|mine|we|we're|we've|our|ours|us)\b)`)

// descriptions returns every description of the schema, by where it is.
func descriptions(s *ast.Schema) map[string]string {
	out := map[string]string{}
	for name, def := range s.Types {
		if def.BuiltIn || strings.HasPrefix(name, "__") {
			continue
		}
		out[name] = def.Description
		for _, f := range def.Fields {
			out[name+"."+f.Name] = f.Description
			for _, a := range f.Arguments {
				out[name+"."+f.Name+"("+a.Name+")"] = a.Description
			}
		}
		for _, v := range def.EnumValues {
			out[name+"."+v.Name] = v.Description
		}
	}
	return out
}

// TestSchemaDescribed: a client reading the schema (schema.graphql, a
// GraphQL IDE) finds every type, field and input field described.
func TestSchemaDescribed(t *testing.T) {
	s := graph.NewExecutableSchema(graph.Config{}).Schema()
	if missing := undocumented(s); len(missing) > 0 {
		t.Errorf("%d without a description:\n%s", len(missing), strings.Join(missing, "\n"))
	}
}

// TestSchemaDescriptionsSpeakToClients: no description names a seed id or
// an issue, or speaks in the first person.
func TestSchemaDescriptionsSpeakToClients(t *testing.T) {
	d := descriptions(graph.NewExecutableSchema(graph.Config{}).Schema())
	for _, where := range sortedKeys(d) {
		if m := badWords.FindString(d[where]); m != "" {
			t.Errorf("%s says %q: %q", where, m, d[where])
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// TestBadWords: what TestSchemaDescriptionsSpeakToClients refuses, and what
// it lets through.
func TestBadWords(t *testing.T) {
	for _, bad := range []string{"As in S1-03.", "See issue #4.", "Fixed in #12.", "I may not.", "My groups.", "Friends of mine.", "We send it.", "Tells us."} {
		if !badWords.MatchString(bad) {
			t.Errorf("%q passes", bad)
		}
	}
	for _, good := range []string{"The viewer's groups.", "An ID string.", "Messages he may see.", "The mute-all switch.", "IDs in it."} {
		if m := badWords.FindString(good); m != "" {
			t.Errorf("%q is refused for %q", good, m)
		}
	}
}
