package app_test

// Tests of the export downloads and of importGraph.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/server/apptest"
)

// download GETs an export file of project with token and returns the
// response and its body.
func (k annKit) download(token, project, file string) (*http.Response, []byte) {
	k.T.Helper()
	return k.Get("/projects/"+project+"/export/"+file, token, nil)
}

// TestAnnotationExport: every file's headers and content, streamed past a
// page boundary, authorized by the bearer token like the API.
func TestAnnotationExport(t *testing.T) {
	eachKit(t, newAnnKit, func(t *testing.T, k annKit) {
		alice, bob, carol := k.Register("alice", nil), k.Register("bob", nil), k.Register("carol", nil)
		p := k.project(alice, "KG")
		k.join(alice, p, bob, "viewer")
		zhang := k.entity(alice, p, `张三 "Z" \ 1`, "PER")
		acme := k.entity(alice, p, "Acme", "ORG")
		li := k.entity(alice, p, "李四", "")
		worksFor := k.relationType(alice, p, "works for", nil, nil, false)
		friendOf := k.relationType(alice, p, "friend of", nil, nil, true)
		r1 := k.relation(alice, worksFor, zhang, acme)
		r2 := k.relation(alice, friendOf, li, zhang)
		doc := k.text(alice, p, "doc", "张三在Acme工作，李四也是。")
		m1 := k.id(alice.Token, annAddMention, map[string]any{"t": doc, "e": zhang, "start": 0, "end": 2})
		m2 := k.id(alice.Token, annAddMention, map[string]any{"t": doc, "e": acme, "start": 3, "end": 7})
		m3 := k.id(alice.Token, annAddMention, map[string]any{"t": doc, "e": li, "start": 10, "end": 12})
		k.text(alice, p, "empty", "没有标注")

		num := func(id string) json.Number { return json.Number(id) }
		decode := func(body []byte, out any) {
			dec := json.NewDecoder(bytes.NewReader(body))
			dec.UseNumber()
			require.NoError(t, dec.Decode(out), string(body))
		}

		// Headers: an attachment named after the project and the file.
		res, body := k.download(bob.Token, p, "entities.json") // a viewer may export
		require.Equal(t, http.StatusOK, res.StatusCode, string(body))
		require.Equal(t, "application/json; charset=utf-8", res.Header.Get("Content-Type"))
		require.Equal(t, fmt.Sprintf("attachment; filename=project-%s-entities.json", p), res.Header.Get("Content-Disposition"))
		require.Equal(t, "no-store", res.Header.Get("Cache-Control"))
		var entities []map[string]any
		decode(body, &entities)
		require.Equal(t, []map[string]any{
			{"id": num(zhang), "name": `张三 "Z" \ 1`, "label": "PER", "creator": "alice"},
			{"id": num(acme), "name": "Acme", "label": "ORG", "creator": "alice"},
			{"id": num(li), "name": "李四", "label": "", "creator": "alice"},
		}, entities)

		_, body = k.download(alice.Token, p, "relations.json")
		var relations []map[string]any
		decode(body, &relations)
		require.Equal(t, []map[string]any{
			{"id": num(r1), "name": "works for", "source": `张三 "Z" \ 1`, "target": "Acme", "symmetric": false, "creator": "alice"},
			{"id": num(r2), "name": "friend of", "source": "李四", "target": `张三 "Z" \ 1`, "symmetric": true, "creator": "alice"},
		}, relations)

		_, body = k.download(alice.Token, p, "triples.json")
		var triples []map[string]any
		decode(body, &triples)
		require.Len(t, triples, 2)
		require.Equal(t, map[string]any{
			"id": num(r1), "name": "works for",
			"source": map[string]any{"id": num(zhang), "name": `张三 "Z" \ 1`, "label": "PER"},
			"target": map[string]any{"id": num(acme), "name": "Acme", "label": "ORG"},
		}, triples[0])

		res, body = k.download(alice.Token, p, "triples.nt")
		require.Equal(t, "application/n-triples; charset=utf-8", res.Header.Get("Content-Type"))
		nt := string(body)
		require.Contains(t, nt, fmt.Sprintf("<urn:parley:entity:%s> <http://www.w3.org/2000/01/rdf-schema#label> \"张三 \\\"Z\\\" \\\\ 1\" .\n", zhang))
		require.Contains(t, nt, fmt.Sprintf("<urn:parley:entity:%s> <urn:parley:vocab:label> \"PER\" .\n", zhang))
		require.Contains(t, nt, fmt.Sprintf("<urn:parley:relation-type:%s> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://www.w3.org/2002/07/owl#SymmetricProperty> .\n", friendOf))
		require.Contains(t, nt, fmt.Sprintf("<urn:parley:entity:%s> <urn:parley:relation-type:%s> <urn:parley:entity:%s> .\n", zhang, worksFor, acme))
		require.Equal(t, 3+2+2+1+2, strings.Count(nt, " .\n"), "3 names, 2 labels, 2 type names, 1 symmetric, 2 relations")

		res, body = k.download(alice.Token, p, "texts.jsonl")
		require.Equal(t, "application/jsonl; charset=utf-8", res.Header.Get("Content-Type"))
		lines := bytes.Split(bytes.TrimSpace(body), []byte("\n"))
		require.Len(t, lines, 2, "one text per line")
		var line map[string]any
		decode(lines[0], &line)
		require.Equal(t, "张三在Acme工作，李四也是。", line["text"])
		require.Equal(t, []any{
			map[string]any{"id": num(m1), "label": "PER", "start_offset": json.Number("0"), "end_offset": json.Number("2"), "entity_id": num(zhang), "entity": `张三 "Z" \ 1`},
			map[string]any{"id": num(m2), "label": "ORG", "start_offset": json.Number("3"), "end_offset": json.Number("7"), "entity_id": num(acme), "entity": "Acme"},
			map[string]any{"id": num(m3), "label": "李四", "start_offset": json.Number("10"), "end_offset": json.Number("12"), "entity_id": num(li), "entity": "李四"},
		}, line["entities"], "an entity without a label is labelled by its name")
		require.Equal(t, []any{
			map[string]any{"id": num(r1), "from_id": num(m1), "to_id": num(m2), "type": "works for"},
			map[string]any{"id": num(r2), "from_id": num(m3), "to_id": num(m1), "type": "friend of"},
		}, line["relations"])
		decode(lines[1], &line)
		require.Equal(t, []any{}, line["entities"])

		// Who may download: members only, by the bearer token.
		for _, c := range []struct {
			token, project, file string
			status               int
			code                 string
		}{
			{carol.Token, p, "entities.json", http.StatusNotFound, "NOT_FOUND"},
			{"", p, "entities.json", http.StatusUnauthorized, "UNAUTHENTICATED"},
			{"forged.token.value", p, "entities.json", http.StatusUnauthorized, "UNAUTHENTICATED"},
			{alice.Token, p, "secrets.json", http.StatusNotFound, "NOT_FOUND"},
			{alice.Token, "4294967296999", "entities.json", http.StatusNotFound, "NOT_FOUND"},
			{alice.Token, "abc", "entities.json", http.StatusNotFound, "NOT_FOUND"},
		} {
			res, body := k.download(c.token, c.project, c.file)
			require.Equal(t, c.status, res.StatusCode, "%+v %s", c, body)
			var e struct{ Errors []apptest.Error }
			require.NoError(t, json.Unmarshal(body, &e), string(body))
			require.Equal(t, c.code, e.Errors[0].Extensions["code"])
		}

		// A project larger than a page streams whole, in id order.
		big := k.project(alice, "big")
		items := make([]map[string]string, 1203)
		for i := range items {
			items[i] = map[string]string{"name": fmt.Sprint("e", i)}
		}
		data, _ := json.Marshal(items)
		var report struct{ ImportGraph struct{ EntitiesCreated int } }
		k.OK(alice.Token, annImport, map[string]any{"p": big, "data": string(data)}, &report)
		require.Equal(t, 1203, report.ImportGraph.EntitiesCreated)
		_, body = k.download(alice.Token, big, "entities.json")
		var all []struct {
			ID   int
			Name string
		}
		require.NoError(t, json.Unmarshal(body, &all))
		require.Len(t, all, 1203)
		for i := 1; i < len(all); i++ {
			require.Less(t, all[i-1].ID, all[i].ID)
		}
		res, body = k.download(alice.Token, big, "triples.nt")
		require.Equal(t, http.StatusOK, res.StatusCode)
		sc := bufio.NewScanner(bytes.NewReader(body))
		n := 0
		for sc.Scan() {
			n++
		}
		require.Equal(t, 1203, n)
	})
}

// TestAnnotationImport: the export's JSON imports back; rules skip items
// with their reasons; malformed or oversized data fails the whole import.
func TestAnnotationImport(t *testing.T) {
	eachKit(t, newAnnKit, func(t *testing.T, k annKit) {
		alice, bob := k.Register("alice", nil), k.Register("bob", nil)
		src := k.project(alice, "source")
		zhang, acme, li := k.entity(alice, src, "张三", "PER"), k.entity(alice, src, "Acme", "ORG"), k.entity(alice, src, "李四", "PER")
		k.entity(alice, src, "孤立", "")
		k.relation(alice, k.relationType(alice, src, "works for", nil, nil, false), zhang, acme)
		k.relation(alice, k.relationType(alice, src, "friend of", nil, nil, true), li, zhang)

		type report struct {
			EntitiesCreated, RelationTypesCreated, RelationsCreated, SkippedCount int
			Skipped                                                               []struct {
				Kind, Name, Reason string
				Index              int
			}
		}
		importInto := func(p string, data []byte) report {
			var out struct{ ImportGraph report }
			k.OK(alice.Token, annImport, map[string]any{"p": p, "data": string(data)}, &out)
			return out.ImportGraph
		}

		// Triples bring their entities, with labels, and their types.
		dst := k.project(alice, "copy")
		_, triples := k.download(alice.Token, src, "triples.json")
		got := importInto(dst, triples)
		require.Equal(t, report{EntitiesCreated: 3, RelationTypesCreated: 2, RelationsCreated: 2, Skipped: got.Skipped}, got)
		require.Empty(t, got.Skipped)
		_, exported := k.download(alice.Token, dst, "triples.json")
		var before, after []annTripleNames
		require.NoError(t, json.Unmarshal(triples, &before))
		require.NoError(t, json.Unmarshal(exported, &after))
		require.Equal(t, before, after, "the copy has the same triples")

		// Entities.json adds the one without relations; the rest exist.
		_, entities := k.download(alice.Token, src, "entities.json")
		got = importInto(dst, entities)
		require.Equal(t, 1, got.EntitiesCreated)
		require.Equal(t, 3, got.SkippedCount)
		require.Equal(t, "ENTITY_NAME_TAKEN", got.Skipped[0].Reason)
		require.Equal(t, "entity", got.Skipped[0].Kind)
		require.Equal(t, "张三", got.Skipped[0].Name)

		// Relations.json again: every pair is taken.
		_, relations := k.download(alice.Token, src, "relations.json")
		got = importInto(dst, relations)
		require.Zero(t, got.RelationsCreated)
		require.Equal(t, []string{"RELATION_PAIR_TAKEN", "RELATION_PAIR_TAKEN"}, []string{got.Skipped[0].Reason, got.Skipped[1].Reason})

		// Relations.json into an empty project: the types keep their
		// symmetric flag, the ends are created.
		third := k.project(alice, "third")
		got = importInto(third, relations)
		require.Equal(t, report{EntitiesCreated: 3, RelationTypesCreated: 2, RelationsCreated: 2, Skipped: got.Skipped}, got)
		var types struct {
			RelationTypes struct {
				Edges []struct {
					Node struct {
						Name      string
						Symmetric bool
					}
				}
			}
		}
		k.OK(alice.Token, `query($p: ID!) { relationTypes(projectId: $p, orderBy: {field: NAME}) { edges { node { name symmetric } } } }`, map[string]any{"p": third}, &types)
		require.Equal(t, "friend of", types.RelationTypes.Edges[0].Node.Name)
		require.True(t, types.RelationTypes.Edges[0].Node.Symmetric)

		// The object form; each broken item skipped with the rule's reason.
		k.relationType(alice, dst, "employs", []string{"ORG"}, []string{"PER"}, false)
		got = importInto(dst, []byte(`{
			"entities": [{"name": "王五", "label": "PER"}, {"name": ""}, {"name": "王五"}, {"name": "`+strings.Repeat("x", 129)+`"}],
			"relations": [
				{"type": "employs", "source": "Acme", "target": "王五"},
				{"type": "employs", "source": "王五", "target": "Acme"},
				{"name": "knows", "source": "王五", "target": "王五"},
				{"name": "knows", "source": "王五"},
				{"name": "", "source": "王五", "target": "Acme"}
			]}`))
		require.Equal(t, 1, got.EntitiesCreated)
		require.Equal(t, 1, got.RelationsCreated)
		require.Equal(t, 1, got.RelationTypesCreated, "knows")
		require.Equal(t, 7, got.SkippedCount)
		var reasons []string
		for _, s := range got.Skipped {
			reasons = append(reasons, fmt.Sprint(s.Kind, "[", s.Index, "] ", s.Reason))
		}
		require.Equal(t, []string{
			"entity[1] REQUIRED", "entity[2] ENTITY_NAME_TAKEN", "entity[3] TOO_LONG",
			"relation[1] SOURCE_LABEL_NOT_ALLOWED", "relation[2] SELF_RELATION", "relation[3] REQUIRED", "relation[4] REQUIRED",
		}, reasons)

		// Malformed or oversized data fails the whole import.
		for _, c := range []struct{ data, reason string }{
			{"not json", "IMPORT_INVALID"},
			{`"a string"`, "IMPORT_INVALID"},
			{`[1, 2]`, "IMPORT_INVALID"},
			{`[{"name": "a"}`, "IMPORT_INVALID"},
			{`[` + strings.Repeat(`{"name":"n"},`, 5000) + `{"name":"n"}]`, "IMPORT_TOO_LARGE"},
			{`[{"name": "` + strings.Repeat("x", 512<<10) + `"}]`, "IMPORT_TOO_LARGE"},
		} {
			r := k.Fails(alice.Token, annImport, map[string]any{"p": dst, "data": c.data}, "BAD_USER_INPUT", c.reason)
			require.Equal(t, "data", r.Ext("field"))
		}
		k.Fails(bob.Token, annImport, map[string]any{"p": dst, "data": `[]`}, "NOT_FOUND", "NOT_FOUND")
		empty := importInto(dst, []byte(`[]`))
		require.Zero(t, empty.EntitiesCreated+empty.SkippedCount)
	})
}

// annTripleNames is a triple without its ids, to compare projects.
type annTripleNames struct {
	Name   string
	Source struct{ Name, Label string }
	Target struct{ Name, Label string }
}
