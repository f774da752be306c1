package app_test

// Tests of a project's contents: texts, entities, mentions,
// relation types and relations, with every rule's reason,
// the cascades, and who may read and write them.

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/ent/entity"
	"github.com/parley-im/parley/ent/mention"
	"github.com/parley-im/parley/ent/projectinvite"
	"github.com/parley-im/parley/ent/projectmember"
	"github.com/parley-im/parley/ent/relation"
	"github.com/parley-im/parley/ent/relationtype"
	"github.com/parley-im/parley/ent/text"
	"github.com/parley-im/parley/ent/viewer"
)

// TestAnnotationTexts: add with limits, list paged without content, the
// content on demand, rename, delete.
func TestAnnotationTexts(t *testing.T) {
	eachKit(t, newAnnKit, func(t *testing.T, k annKit) {
		alice, bob := k.Register("alice", nil), k.Register("bob", nil)
		p := k.project(alice, "KG")

		var added struct {
			AddText struct {
				ID, Name string
				Length   int
				Creator  struct{ ID string }
			}
		}
		content := "张三在北京工作 🙂\n第二行"
		k.OK(alice.Token, annAddText, map[string]any{"p": p, "name": "新闻 1", "content": content}, &added)
		require.Equal(t, len([]rune(content)), added.AddText.Length, "length counts characters")
		require.Equal(t, alice.ID, added.AddText.Creator.ID)
		first := added.AddText.ID
		for i := 2; i <= 3; i++ {
			k.text(alice, p, fmt.Sprint("新闻 ", i), "text")
		}
		k.text(alice, p, "新闻 1", "names of texts need not be unique")

		for _, c := range []struct {
			name, content, field, reason string
		}{
			{"", "x", "input.name", "REQUIRED"},
			{strings.Repeat("名", 129), "x", "input.name", "TOO_LONG"},
			{"n", "", "input.content", "REQUIRED"},
			{"n", " \n ", "input.content", "REQUIRED"},
			{"n", strings.Repeat("a", 100_001), "input.content", "TOO_LONG"},
		} {
			r := k.Fails(alice.Token, annAddText, map[string]any{"p": p, "name": c.name, "content": c.content}, "BAD_USER_INPUT", c.reason)
			require.Equal(t, c.field, r.Ext("field"))
		}
		k.text(alice, p, strings.Repeat("名", 128), strings.Repeat("字", 100_000))
		k.Fails(bob.Token, annAddText, map[string]any{"p": p, "name": "n", "content": "x"}, "NOT_FOUND", "NOT_FOUND")

		// A page of names and lengths; the content only on demand.
		var page struct {
			Texts struct {
				TotalCount int
				PageInfo   struct{ HasNextPage bool }
				Edges      []struct{ Node struct{ ID, Name string } }
			}
		}
		k.OK(alice.Token, `query($p: ID!) { texts(projectId: $p, first: 2) { totalCount pageInfo { hasNextPage } edges { node { id name length } } } }`, map[string]any{"p": p}, &page)
		require.Equal(t, 5, page.Texts.TotalCount)
		require.True(t, page.Texts.PageInfo.HasNextPage)
		require.Equal(t, []string{first}, []string{page.Texts.Edges[0].Node.ID})
		var full struct{ Node struct{ Content string } }
		k.OK(alice.Token, `query($id: ID!) { node(id: $id) { ... on Text { content } } }`, map[string]any{"id": first}, &full)
		require.Equal(t, content, full.Node.Content)

		// Rename and delete.
		var renamed struct{ RenameText struct{ Name string } }
		k.OK(alice.Token, annRenameText, map[string]any{"id": first, "name": " 新闻 一 "}, &renamed)
		require.Equal(t, "新闻 一", renamed.RenameText.Name)
		k.Fails(alice.Token, annRenameText, map[string]any{"id": first, "name": ""}, "BAD_USER_INPUT", "REQUIRED")
		k.Fails(bob.Token, annRenameText, map[string]any{"id": first, "name": "x"}, "NOT_FOUND", "NOT_FOUND")
		require.Equal(t, first, k.id(alice.Token, annDeleteText, map[string]any{"id": first}))
		k.Fails(alice.Token, annDeleteText, map[string]any{"id": first}, "NOT_FOUND", "NOT_FOUND")
	})
}

// TestAnnotationEntities: names unique per project regardless of case and
// width, the name filter and creator, rename, relabel.
func TestAnnotationEntities(t *testing.T) {
	eachKit(t, newAnnKit, func(t *testing.T, k annKit) {
		alice, bob, p := k.kg()
		tree := k.entity(alice, p, "Tree", "")
		binary := k.entity(bob, p, "Binary tree", "CONCEPT")
		k.entity(alice, p, "二叉树", "CONCEPT")
		k.entity(alice, k.project(alice, "other"), "Tree", "") // unique per project only

		for _, c := range []struct{ name, label, field, code, reason string }{
			{"tree", "", "input.name", "CONFLICT", "ENTITY_NAME_TAKEN"},
			{"  TREE ", "", "input.name", "CONFLICT", "ENTITY_NAME_TAKEN"},
			{"ｔｒｅｅ", "", "input.name", "CONFLICT", "ENTITY_NAME_TAKEN"},
			{"binary   TREE", "", "input.name", "CONFLICT", "ENTITY_NAME_TAKEN"}, // inner spaces collapse
			{"", "", "input.name", "BAD_USER_INPUT", "REQUIRED"},
			{strings.Repeat("x", 129), "", "input.name", "BAD_USER_INPUT", "TOO_LONG"},
			{"ok", strings.Repeat("L", 65), "input.label", "BAD_USER_INPUT", "TOO_LONG"},
			{"ok", "A\nB", "input.label", "BAD_USER_INPUT", "INVALID"},
		} {
			r := k.Fails(alice.Token, annAddEntity, map[string]any{"p": p, "name": c.name, "label": c.label}, c.code, c.reason)
			require.Equal(t, c.field, r.Ext("field"))
		}

		type entityList struct {
			Entities struct {
				TotalCount int
				Edges      []struct {
					Node struct {
						Name, Label string
						Creator     struct{ ID, Username string }
					}
				}
			}
		}
		list := func(vars map[string]any) (names []string, creators []string) {
			var out entityList
			vars["p"] = p
			k.OK(alice.Token, `query($p: ID!, $name: String, $creator: ID) { entities(projectId: $p, name: $name, creatorId: $creator, first: 50, orderBy: {field: NAME}) { totalCount edges { node { name label creator { id username } } } } }`, vars, &out)
			for _, e := range out.Entities.Edges {
				names = append(names, e.Node.Name)
				creators = append(creators, e.Node.Creator.Username)
			}
			return names, creators
		}
		names, creators := list(map[string]any{})
		require.Equal(t, []string{"Binary tree", "Tree", "二叉树"}, names)
		require.Equal(t, []string{"bob", "alice", "alice"}, creators)
		names, _ = list(map[string]any{"name": "TRE"})
		require.Equal(t, []string{"Binary tree", "Tree"}, names, "the filter compares like uniqueness")
		names, _ = list(map[string]any{"name": "叉"})
		require.Equal(t, []string{"二叉树"}, names)
		names, _ = list(map[string]any{"name": "%"})
		require.Empty(t, names, "LIKE wildcards match themselves")
		names, _ = list(map[string]any{"creator": bob.ID})
		require.Equal(t, []string{"Binary tree"}, names)

		// Rename: a change of case is a rename to itself.
		var renamed struct{ RenameEntity struct{ Name string } }
		k.OK(alice.Token, annRenameEntity, map[string]any{"id": tree, "name": "TREE"}, &renamed)
		require.Equal(t, "TREE", renamed.RenameEntity.Name)
		r := k.Fails(alice.Token, annRenameEntity, map[string]any{"id": tree, "name": "binary tree"}, "CONFLICT", "ENTITY_NAME_TAKEN")
		require.Equal(t, "name", r.Ext("field"))
		k.Fails(alice.Token, annRenameEntity, map[string]any{"id": tree, "name": " "}, "BAD_USER_INPUT", "REQUIRED")

		// Relabel: refused while a relation's type would not allow it.
		isA := k.relationType(alice, p, "is a", []string{"CONCEPT"}, nil, false)
		k.relation(alice, isA, binary, tree)
		k.Fails(alice.Token, annRelabelEntity, map[string]any{"id": binary, "label": "PERSON"}, "CONFLICT", "LABEL_BREAKS_RELATION")
		var relabelled struct{ RelabelEntity struct{ Label string } }
		k.OK(alice.Token, annRelabelEntity, map[string]any{"id": tree, "label": "PERSON"}, &relabelled)
		require.Equal(t, "PERSON", relabelled.RelabelEntity.Label, "targets are unconstrained")
		k.Fails(alice.Token, annRelabelEntity, map[string]any{"id": tree, "label": strings.Repeat("L", 65)}, "BAD_USER_INPUT", "TOO_LONG")
	})
}

// TestAnnotationMentions: spans in characters, validated against the text,
// pointing at an entity of the same project.
func TestAnnotationMentions(t *testing.T) {
	eachKit(t, newAnnKit, func(t *testing.T, k annKit) {
		alice, bob := k.Register("alice", nil), k.Register("bob", nil)
		p := k.project(alice, "KG")
		doc := k.text(alice, p, "doc", "张三🙂在北京工作") // 8 characters, 🙂 one of them
		zhang, beijing := k.entity(alice, p, "张三", "PER"), k.entity(alice, p, "北京", "LOC")
		elsewhere := k.entity(alice, k.project(alice, "other"), "北京", "LOC")

		m1 := k.id(alice.Token, annAddMention, map[string]any{"t": doc, "e": zhang, "start": 0, "end": 2})
		k.id(alice.Token, annAddMention, map[string]any{"t": doc, "e": beijing, "start": 4, "end": 6})
		k.id(alice.Token, annAddMention, map[string]any{"t": doc, "e": beijing, "start": 0, "end": 8}) // spans may overlap
		for _, c := range []struct {
			entity            string
			start, end        int
			code, reason, fld string
		}{
			{zhang, -1, 2, "BAD_USER_INPUT", "SPAN_INVALID", "input.start"},
			{zhang, 2, 2, "BAD_USER_INPUT", "SPAN_INVALID", "input.end"},
			{zhang, 3, 1, "BAD_USER_INPUT", "SPAN_INVALID", "input.end"},
			{zhang, 0, 9, "BAD_USER_INPUT", "SPAN_OUT_OF_RANGE", "input.end"},
			{zhang, 0, 2, "CONFLICT", "MENTION_TAKEN", "input"},
			{elsewhere, 4, 6, "BAD_USER_INPUT", "CROSS_PROJECT", "input.entityId"},
			{"4294967296999", 0, 1, "NOT_FOUND", "NOT_FOUND", "input.entityId"},
		} {
			r := k.Fails(alice.Token, annAddMention, map[string]any{"t": doc, "e": c.entity, "start": c.start, "end": c.end}, c.code, c.reason)
			require.Equal(t, c.fld, r.Ext("field"))
		}
		k.Fails(bob.Token, annAddMention, map[string]any{"t": doc, "e": zhang, "start": 0, "end": 1}, "NOT_FOUND", "NOT_FOUND")

		var spans struct {
			Node struct {
				Mentions struct {
					TotalCount int
					Edges      []struct {
						Node struct {
							Start, End int
							Entity     struct{ Name string }
						}
					}
				}
			}
		}
		k.OK(alice.Token, `query($id: ID!) { node(id: $id) { ... on Text { mentions(first: 10) { totalCount edges { node { start end entity { name } } } } } } }`, map[string]any{"id": doc}, &spans)
		require.Equal(t, 3, spans.Node.Mentions.TotalCount)
		require.Equal(t, "张三", spans.Node.Mentions.Edges[0].Node.Entity.Name)

		require.Equal(t, m1, k.id(alice.Token, annDeleteMention, map[string]any{"id": m1}))
		k.Fails(alice.Token, annDeleteMention, map[string]any{"id": m1}, "NOT_FOUND", "NOT_FOUND")
		k.id(alice.Token, annAddMention, map[string]any{"t": doc, "e": zhang, "start": 0, "end": 2})
	})
}

// TestAnnotationRelations: relation types and relations:
// uniqueness, label constraints, one relation between two entities
// whichever way it points, change of type, and a type in use.
func TestAnnotationRelations(t *testing.T) {
	eachKit(t, newAnnKit, func(t *testing.T, k annKit) {
		alice := k.Register("alice", nil)
		p := k.project(alice, "KG")
		zhang, li := k.entity(alice, p, "张三", "PER"), k.entity(alice, p, "李四", "PER")
		acme, beijing := k.entity(alice, p, "Acme", "ORG"), k.entity(alice, p, "北京", "LOC")
		elsewhere := k.entity(alice, k.project(alice, "other"), "王五", "PER")

		worksFor := k.relationType(alice, p, "works for", []string{"PER"}, []string{"ORG"}, false)
		friendOf := k.relationType(alice, p, "friend of", []string{"PER"}, []string{"PER"}, true)
		related := k.relationType(alice, p, "related", nil, nil, false)
		locatedIn := k.relationType(alice, p, "located in", []string{"ORG"}, []string{"LOC"}, true)

		// Types: names unique per project regardless of case; label lists.
		for _, c := range []struct {
			name     string
			src      []string
			code, rs string
			field    string
		}{
			{"Works For", nil, "CONFLICT", "RELATION_TYPE_NAME_TAKEN", "input.name"},
			{"", nil, "BAD_USER_INPUT", "REQUIRED", "input.name"},
			{strings.Repeat("r", 65), nil, "BAD_USER_INPUT", "TOO_LONG", "input.name"},
			{"t", []string{"PER", " "}, "BAD_USER_INPUT", "REQUIRED", "input.sourceLabels[1]"},
			{"t", []string{strings.Repeat("L", 65)}, "BAD_USER_INPUT", "TOO_LONG", "input.sourceLabels[0]"},
			{"t", manyLabels(33), "BAD_USER_INPUT", "TOO_MANY_LABELS", "input.sourceLabels"},
		} {
			r := k.Fails(alice.Token, annAddType, map[string]any{"p": p, "name": c.name, "src": c.src}, c.code, c.rs)
			require.Equal(t, c.field, r.Ext("field"))
		}
		var dup struct {
			AddRelationType struct{ SourceLabels []string }
		}
		k.OK(alice.Token, annAddType, map[string]any{"p": p, "name": "dup", "src": []string{"A", " A ", "B"}}, &dup)
		require.Equal(t, []string{"A", "B"}, dup.AddRelationType.SourceLabels)
		k.Fails(alice.Token, annRenameType, map[string]any{"id": related, "name": "FRIEND OF"}, "CONFLICT", "RELATION_TYPE_NAME_TAKEN")
		k.OK(alice.Token, annRenameType, map[string]any{"id": related, "name": "Related"}, nil)

		// Relations: the rules, each with its reason and field.
		r1 := k.relation(alice, worksFor, zhang, acme)
		k.relation(alice, friendOf, zhang, li)
		k.relation(alice, locatedIn, beijing, acme) // symmetric: LOC -> ORG is ORG -> LOC read backwards
		for _, c := range []struct {
			typ, s, t, code, reason, field string
		}{
			{related, zhang, acme, "CONFLICT", "RELATION_PAIR_TAKEN", "input.targetId"},
			{friendOf, li, zhang, "CONFLICT", "RELATION_REVERSE_PAIR_TAKEN", "input.targetId"},  // the symmetric one holds both ways
			{related, li, zhang, "CONFLICT", "RELATION_REVERSE_PAIR_TAKEN", "input.targetId"},   // whatever the new type
			{related, acme, zhang, "CONFLICT", "RELATION_REVERSE_PAIR_TAKEN", "input.targetId"}, // and whatever the old one
			{related, zhang, zhang, "BAD_USER_INPUT", "SELF_RELATION", "input.targetId"},
			{worksFor, acme, zhang, "BAD_USER_INPUT", "SOURCE_LABEL_NOT_ALLOWED", "input.sourceId"},
			{worksFor, li, beijing, "BAD_USER_INPUT", "TARGET_LABEL_NOT_ALLOWED", "input.targetId"},
			{related, zhang, elsewhere, "BAD_USER_INPUT", "CROSS_PROJECT", "input.targetId"},
			{related, elsewhere, zhang, "BAD_USER_INPUT", "CROSS_PROJECT", "input.sourceId"},
			{"4294967296999", zhang, li, "NOT_FOUND", "NOT_FOUND", "input.typeId"},
			{related, zhang, "4294967296999", "NOT_FOUND", "NOT_FOUND", "input.targetId"},
		} {
			r := k.Fails(alice.Token, annAddRelation, map[string]any{"type": c.typ, "s": c.s, "t": c.t}, c.code, c.reason)
			require.Equal(t, c.field, r.Ext("field"))
		}
		r2 := k.relation(alice, related, acme, li)

		// The list: type name, both ends' names, creator.
		var list struct {
			Relations struct {
				TotalCount int
				Edges      []struct {
					Node struct {
						Type           struct{ Name string }
						Source, Target struct{ Name string }
						Creator        struct{ Username string }
					}
				}
			}
		}
		const relationsQuery = `query($p: ID!, $e: ID, $type: ID) { relations(projectId: $p, entityId: $e, typeId: $type, first: 50) { totalCount edges { node { type { name } source { name } target { name } creator { username } } } } }`
		k.OK(alice.Token, relationsQuery, map[string]any{"p": p}, &list)
		require.Equal(t, 4, list.Relations.TotalCount)
		first := list.Relations.Edges[0].Node
		require.Equal(t, []string{"works for", "张三", "Acme", "alice"}, []string{first.Type.Name, first.Source.Name, first.Target.Name, first.Creator.Username})
		k.OK(alice.Token, relationsQuery, map[string]any{"p": p, "e": acme}, &list)
		require.Equal(t, 3, list.Relations.TotalCount)
		k.OK(alice.Token, relationsQuery, map[string]any{"p": p, "type": friendOf}, &list)
		require.Equal(t, 1, list.Relations.TotalCount)

		// Changing the type applies the same rules, reported on typeId.
		r := k.Fails(alice.Token, annRetypeRelation, map[string]any{"id": r1, "type": friendOf}, "BAD_USER_INPUT", "TARGET_LABEL_NOT_ALLOWED")
		require.Equal(t, "typeId", r.Ext("field"))
		k.Fails(alice.Token, annRetypeRelation, map[string]any{"id": r1, "type": locatedIn}, "BAD_USER_INPUT", "SOURCE_LABEL_NOT_ALLOWED")
		otherType := k.relationType(alice, k.project(alice, "third"), "t", nil, nil, false)
		k.Fails(alice.Token, annRetypeRelation, map[string]any{"id": r1, "type": otherType}, "BAD_USER_INPUT", "CROSS_PROJECT")
		symmetric := k.relationType(alice, p, "sym", nil, nil, true)
		k.OK(alice.Token, annRetypeRelation, map[string]any{"id": r2, "type": symmetric}, nil) // its own pair stays its own
		var retyped struct {
			ChangeRelationType struct{ Type struct{ ID string } }
		}
		k.OK(alice.Token, annRetypeRelation, map[string]any{"id": r1, "type": related}, &retyped)
		require.Equal(t, related, retyped.ChangeRelationType.Type.ID)

		// A type in use cannot be deleted.
		k.Fails(alice.Token, annDeleteType, map[string]any{"id": related}, "CONFLICT", "RELATION_TYPE_IN_USE")
		require.Equal(t, worksFor, k.id(alice.Token, annDeleteType, map[string]any{"id": worksFor}))
		require.Equal(t, r1, k.id(alice.Token, annDeleteRelation, map[string]any{"id": r1}))
		require.Equal(t, r2, k.id(alice.Token, annDeleteRelation, map[string]any{"id": r2}))
		require.Equal(t, related, k.id(alice.Token, annDeleteType, map[string]any{"id": related}))
		k.Fails(alice.Token, annDeleteRelation, map[string]any{"id": r1}, "NOT_FOUND", "NOT_FOUND")

		// A project's relation types list with their creator.
		var types struct {
			RelationTypes struct {
				Edges []struct {
					Node struct {
						Name    string
						Creator struct{ Username string }
					}
				}
			}
		}
		k.OK(alice.Token, `query($p: ID!) { relationTypes(projectId: $p, orderBy: {field: NAME}) { edges { node { name creator { username } } } } }`, map[string]any{"p": p}, &types)
		var typeNames []string
		for _, e := range types.RelationTypes.Edges {
			typeNames = append(typeNames, e.Node.Name)
			require.Equal(t, "alice", e.Node.Creator.Username)
		}
		require.Equal(t, []string{"dup", "friend of", "located in", "sym"}, typeNames)
	})
}

func manyLabels(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprint("L", i)
	}
	return out
}

// TestAnnotationCascades: deleting an entity takes its relations and
// mentions, a text its mentions, and a project everything in it, in one
// transaction.
func TestAnnotationCascades(t *testing.T) {
	eachKit(t, newAnnKit, func(t *testing.T, k annKit) {
		alice, bob, p := k.kg()
		carol := k.Register("carol", nil)
		k.befriend(alice, carol)
		k.id(alice.Token, annInvite, map[string]any{"p": p, "u": carol.ID}) // pending
		doc, other := k.text(alice, p, "doc", "张三和李四"), k.text(alice, p, "other", "李四")
		zhang, li, wang := k.entity(alice, p, "张三", ""), k.entity(alice, p, "李四", ""), k.entity(alice, p, "王五", "")
		knows := k.relationType(alice, p, "knows", nil, nil, false)
		k.relation(bob, knows, zhang, li)
		k.relation(bob, knows, li, wang)
		k.relation(bob, knows, wang, zhang)
		k.id(alice.Token, annAddMention, map[string]any{"t": doc, "e": zhang, "start": 0, "end": 2})
		k.id(alice.Token, annAddMention, map[string]any{"t": doc, "e": li, "start": 3, "end": 5})
		k.id(alice.Token, annAddMention, map[string]any{"t": other, "e": li, "start": 0, "end": 2})

		sys := viewer.SystemContext(context.Background())
		db := k.App.Client
		count := func(n int, err error) int { require.NoError(t, err); return n }

		k.id(bob.Token, annDeleteEntity, map[string]any{"id": li})
		require.Equal(t, 1, count(db.Relation.Query().Count(sys)), "li's two relations went with him")
		require.Equal(t, 1, count(db.Mention.Query().Count(sys)), "and his two mentions")
		k.id(bob.Token, annDeleteText, map[string]any{"id": doc})
		require.Zero(t, count(db.Mention.Query().Count(sys)))

		k.id(alice.Token, annDeleteProject, map[string]any{"id": p})
		pid, err := strconv.Atoi(p)
		require.NoError(t, err)
		require.Zero(t, count(db.Text.Query().Where(text.ProjectID(pid)).Count(sys)))
		require.Zero(t, count(db.Entity.Query().Where(entity.ProjectID(pid)).Count(sys)))
		require.Zero(t, count(db.RelationType.Query().Where(relationtype.ProjectID(pid)).Count(sys)))
		require.Zero(t, count(db.Relation.Query().Where(relation.ProjectID(pid)).Count(sys)))
		require.Zero(t, count(db.Mention.Query().Where(mention.HasTextWith(text.ProjectID(pid))).Count(sys)))
		require.Zero(t, count(db.ProjectMember.Query().Where(projectmember.ProjectID(pid)).Count(sys)))
		require.Zero(t, count(db.ProjectInvite.Query().Where(projectinvite.ProjectID(pid)).Count(sys)))
	})
}

// TestAnnotationRoles: strangers see nothing, node(id:) included; viewers
// read everything and write nothing (FORBIDDEN, READ_ONLY_ROLE);
// annotators write.
func TestAnnotationRoles(t *testing.T) {
	eachKit(t, newAnnKit, func(t *testing.T, k annKit) {
		alice, bob, p := k.kg()
		carol, dave := k.Register("carol", nil), k.Register("dave", nil)
		k.join(alice, p, carol, "viewer")
		doc := k.text(alice, p, "doc", "张三和李四")
		zhang, li := k.entity(alice, p, "张三", "PER"), k.entity(alice, p, "李四", "PER")
		zhao := k.entity(alice, p, "赵六", "PER")
		knows := k.relationType(alice, p, "knows", nil, nil, false)
		rel := k.relation(alice, knows, zhang, li)
		mention := k.id(alice.Token, annAddMention, map[string]any{"t": doc, "e": zhang, "start": 0, "end": 2})
		daves := k.project(dave, "dave's") // a member elsewhere is a stranger here
		k.entity(dave, daves, "张三", "PER")

		writes := []struct {
			name  string
			query string
			vars  map[string]any
		}{
			{"addText", annAddText, map[string]any{"p": p, "name": "n", "content": "c"}},
			{"renameText", annRenameText, map[string]any{"id": doc, "name": "n"}},
			{"deleteText", annDeleteText, map[string]any{"id": doc}},
			{"addEntity", annAddEntity, map[string]any{"p": p, "name": "王五"}},
			{"renameEntity", annRenameEntity, map[string]any{"id": zhang, "name": "n"}},
			{"relabelEntity", annRelabelEntity, map[string]any{"id": zhang, "label": "X"}},
			{"deleteEntity", annDeleteEntity, map[string]any{"id": li}},
			{"addMention", annAddMention, map[string]any{"t": doc, "e": li, "start": 3, "end": 5}},
			{"deleteMention", annDeleteMention, map[string]any{"id": mention}},
			{"addRelationType", annAddType, map[string]any{"p": p, "name": "n"}},
			{"renameRelationType", annRenameType, map[string]any{"id": knows, "name": "n"}},
			{"deleteRelationType", annDeleteType, map[string]any{"id": k.relationType(alice, p, "unused", nil, nil, false)}},
			{"addRelation", annAddRelation, map[string]any{"type": knows, "s": li, "t": zhao}},
			{"changeRelationType", annRetypeRelation, map[string]any{"id": rel, "type": knows}},
			{"deleteRelation", annDeleteRelation, map[string]any{"id": rel}},
			{"importGraph", annImport, map[string]any{"p": p, "data": `[{"name": "新实体"}]`}},
		}
		for _, w := range writes {
			t.Run(w.name, func(t *testing.T) {
				k.Fails(carol.Token, w.query, w.vars, "FORBIDDEN", "READ_ONLY_ROLE")
				k.Fails(dave.Token, w.query, w.vars, "NOT_FOUND", "NOT_FOUND")
				k.Fails("", w.query, w.vars, "UNAUTHENTICATED", "SIGN_IN_REQUIRED")
			})
		}
		// The refused writes changed nothing; the annotator may write.
		var counts struct {
			Texts, Entities, Relations struct{ TotalCount int }
		}
		const countsQuery = `query($p: ID!) { texts(projectId: $p) { totalCount } entities(projectId: $p) { totalCount } relations(projectId: $p) { totalCount } }`
		k.OK(carol.Token, countsQuery, map[string]any{"p": p}, &counts)
		require.Equal(t, []int{1, 3, 1}, []int{counts.Texts.TotalCount, counts.Entities.TotalCount, counts.Relations.TotalCount})
		k.entity(bob, p, "王五", "")
		k.id(bob.Token, annDeleteRelation, map[string]any{"id": rel})

		// Reads: members read everything; strangers get NOT_FOUND everywhere.
		reads := map[string]string{
			"texts":         `query($p: ID!) { texts(projectId: $p) { totalCount } }`,
			"entities":      `query($p: ID!) { entities(projectId: $p) { totalCount } }`,
			"relationTypes": `query($p: ID!) { relationTypes(projectId: $p) { totalCount } }`,
			"relations":     `query($p: ID!) { relations(projectId: $p) { totalCount } }`,
			"graph":         `query($p: ID!) { graph(projectId: $p) { truncated } }`,
		}
		for name, q := range reads {
			k.OK(carol.Token, q, map[string]any{"p": p}, nil)
			k.Fails(dave.Token, q, map[string]any{"p": p}, "NOT_FOUND", "NOT_FOUND")
			require.Equal(t, "UNAUTHENTICATED", k.Do("", q, map[string]any{"p": p}).Code(), name)
		}
		k.Fails(dave.Token, `query($e: ID!) { neighbourhood(entityId: $e) { truncated } }`, map[string]any{"e": zhang}, "NOT_FOUND", "NOT_FOUND")
		for _, id := range []string{p, doc, zhang, knows, mention} {
			var seen struct{ Node *struct{ ID string } }
			k.OK(carol.Token, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": id}, &seen)
			require.Equal(t, id, seen.Node.ID)
			hidden := k.Do(dave.Token, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": id})
			require.Equal(t, "NOT_FOUND", hidden.Code(), "a stranger must not see %s", id)
		}
		r := k.Do(dave.Token, `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, map[string]any{"ids": []string{doc, zhang, dave.ID}})
		require.Contains(t, string(r.Data), dave.ID)
		require.NotContains(t, string(r.Data), doc)
		require.NotContains(t, string(r.Data), zhang)
		require.Equal(t, []string{"dave's"}, annNames(k.projects(dave, nil)))
		// Nor by putting his own objects together with hers.
		k.Fails(dave.Token, annAddMention, map[string]any{"t": doc, "e": k.entity(dave, daves, "李四", ""), "start": 0, "end": 1}, "NOT_FOUND", "NOT_FOUND")
	})
}
