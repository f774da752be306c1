package app_test

// Tests of the graph view and of an entity's neighbourhood.

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/internal/platform/dbtest"
)

type annGraph struct {
	Truncated bool
	Nodes     []struct {
		ID, Name, Label string
		Creator         struct{ Username string }
		Degree          int
		SymbolSize      float64
		Selected        bool
	}
	Links []struct {
		ID, Name, Source, Target string
		Symmetric                bool
		Creator                  struct{ Username string }
	}
}

const annGraphFields = `truncated nodes { id name label creator { username } degree symbolSize selected } links { id name source target symmetric creator { username } }`

// TestAnnotationGraph: nodes and links in ECharts' shape, symbolSize from
// the degree by the documented formula, selected by the name filter.
func TestAnnotationGraph(t *testing.T) {
	eachKit(t, newAnnKit, func(t *testing.T, k annKit) {
		alice, bob, p := k.kg()
		tree := k.entity(alice, p, "树", "CONCEPT")
		binary := k.entity(bob, p, "二叉树 Binary Tree", "CONCEPT")
		bst := k.entity(alice, p, "BST", "CONCEPT")
		lonely := k.entity(alice, p, "孤立", "")
		leaf := k.entity(alice, p, "叶子", "")
		isA := k.relationType(alice, p, "从属", nil, nil, false)
		same := k.relationType(alice, p, "并列", nil, nil, true)
		r1 := k.relation(bob, isA, binary, tree)
		k.relation(alice, isA, bst, tree)
		k.relation(alice, same, binary, bst)
		k.relation(alice, isA, leaf, tree)

		var out struct{ Graph annGraph }
		k.OK(alice.Token, `query($p: ID!, $name: String) { graph(projectId: $p, name: $name) { `+annGraphFields+` } }`,
			map[string]any{"p": p, "name": "树"}, &out)
		g := out.Graph
		require.False(t, g.Truncated)
		require.Len(t, g.Nodes, 5)
		require.Len(t, g.Links, 4)
		byID := map[string]int{}
		for i, n := range g.Nodes {
			byID[n.ID] = i
		}
		want := map[string]struct {
			degree   int
			size     float64
			selected bool
			creator  string
		}{
			tree:   {3, 33.9, true, "alice"}, // 20 + 8·√3
			binary: {2, 31.3, true, "bob"},   // 20 + 8·√2
			bst:    {2, 31.3, false, "alice"},
			lonely: {0, 20, false, "alice"},
			leaf:   {1, 28, false, "alice"},
		}
		for id, w := range want {
			n := g.Nodes[byID[id]]
			require.Equal(t, w.degree, n.Degree, n.Name)
			require.Equal(t, w.size, n.SymbolSize, n.Name)
			require.Equal(t, w.selected, n.Selected, n.Name)
			require.Equal(t, w.creator, n.Creator.Username, n.Name)
		}
		link := g.Links[0]
		require.Equal(t, []string{r1, "从属", binary, tree, "bob"}, []string{link.ID, link.Name, link.Source, link.Target, link.Creator.Username})
		require.True(t, g.Links[2].Symmetric)
		for _, l := range g.Links { // every link's ends are nodes of the answer, as ECharts needs
			require.Contains(t, byID, l.Source)
			require.Contains(t, byID, l.Target)
		}

		// The filter compares like names do: case-insensitive.
		k.OK(alice.Token, `query($p: ID!) { graph(projectId: $p, name: "binary TREE") { `+annGraphFields+` } }`, map[string]any{"p": p}, &out)
		for _, n := range out.Graph.Nodes {
			require.Equal(t, n.ID == binary, n.Selected, n.Name)
		}
		k.OK(alice.Token, `query($p: ID!) { graph(projectId: $p) { `+annGraphFields+` } }`, map[string]any{"p": p}, &out)
		for _, n := range out.Graph.Nodes {
			require.False(t, n.Selected, "no filter selects nothing")
		}

		// An empty project has an empty graph, not null lists.
		k.OK(alice.Token, `query($p: ID!) { graph(projectId: $p) { `+annGraphFields+` } }`, map[string]any{"p": k.project(alice, "empty")}, &out)
		require.NotNil(t, out.Graph.Nodes)
		require.Empty(t, out.Graph.Nodes)
	})
}

// TestAnnotationNeighbourhood: the entities up to k hops away, either way,
// and every relation among them; degrees stay project-wide.
func TestAnnotationNeighbourhood(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		k := newAnnKit(t, b)
		alice, bob := k.Register("alice", nil), k.Register("bob", nil)
		p := k.project(alice, "KG")
		// A chain a -> b -> c -> d -> e, a shortcut c -> a, and an island f.
		ids := map[string]string{}
		for _, n := range []string{"a", "b", "c", "d", "e", "f"} {
			ids[n] = k.entity(alice, p, n, "")
		}
		next := k.relationType(alice, p, "next", nil, nil, false)
		for _, pair := range [][2]string{{"a", "b"}, {"b", "c"}, {"c", "d"}, {"d", "e"}, {"c", "a"}} {
			k.relation(alice, next, ids[pair[0]], ids[pair[1]])
		}
		hood := func(from string, hops int) (names []string, links int, degree map[string]int) {
			var out struct{ Neighbourhood annGraph }
			k.OK(alice.Token, `query($e: ID!, $hops: Int!) { neighbourhood(entityId: $e, hops: $hops) { `+annGraphFields+` } }`,
				map[string]any{"e": ids[from], "hops": hops}, &out)
			degree = map[string]int{}
			for _, n := range out.Neighbourhood.Nodes {
				names = append(names, n.Name)
				degree[n.Name] = n.Degree
			}
			return names, len(out.Neighbourhood.Links), degree
		}
		names, links, degree := hood("e", 1)
		require.Equal(t, []string{"d", "e"}, names, "incoming relations count")
		require.Equal(t, 1, links)
		require.Equal(t, 2, degree["d"], "degrees are project-wide")
		names, links, _ = hood("e", 2)
		require.Equal(t, []string{"c", "d", "e"}, names)
		require.Equal(t, 2, links)
		names, links, _ = hood("e", 3)
		require.Equal(t, []string{"a", "b", "c", "d", "e"}, names)
		require.Equal(t, 5, links, "every relation among the nodes, the shortcut included")
		names, links, _ = hood("f", 3)
		require.Equal(t, []string{"f"}, names)
		require.Zero(t, links)

		for _, hops := range []int{0, 4, -1} {
			r := k.Fails(alice.Token, `query($e: ID!, $hops: Int!) { neighbourhood(entityId: $e, hops: $hops) { truncated } }`,
				map[string]any{"e": ids["a"], "hops": hops}, "BAD_USER_INPUT", "HOPS_OUT_OF_RANGE")
			require.Equal(t, "hops", r.Ext("field"))
		}
		var dflt struct{ Neighbourhood annGraph }
		k.OK(alice.Token, `query($e: ID!) { neighbourhood(entityId: $e) { `+annGraphFields+` } }`, map[string]any{"e": ids["a"]}, &dflt)
		require.Len(t, dflt.Neighbourhood.Nodes, 3, "one hop by default: a, b and c")
		k.Fails(bob.Token, `query($e: ID!) { neighbourhood(entityId: $e) { truncated } }`, map[string]any{"e": ids["a"]}, "NOT_FOUND", "NOT_FOUND")
	})
}
