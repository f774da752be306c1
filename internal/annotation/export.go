package annotation

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/entity"
	"github.com/parley-im/parley/ent/mention"
	"github.com/parley-im/parley/ent/relation"
	"github.com/parley-im/parley/ent/relationtype"
	"github.com/parley-im/parley/ent/text"
	"github.com/parley-im/parley/ent/user"
	"github.com/parley-im/parley/internal/platform/apperr"
)

// Rows read per page of an export: memory holds one page at a time, however
// large the project. Texts come fewer at a time, their content being large.
const (
	exportPage     = 500
	exportTextPage = 10
)

// Export is one download of a project's data: the HTTP layer sets
// its headers, then Write streams it. Exports read as the viewer, so the
// privacy policies apply as to any query. Pages are read one after another,
// not in one snapshot: a row changed during a long export appears as its
// page found it.
type Export struct {
	// FileName is what Content-Disposition proposes, such as
	// project-42-entities.json.
	FileName    string
	ContentType string

	s         *Service
	projectID int
	write     func(s *Service, ctx context.Context, projectID int, w *bufio.Writer) error
}

// exportFile is one of the files an export offers.
type exportFile struct {
	contentType string
	write       func(s *Service, ctx context.Context, projectID int, w *bufio.Writer) error
}

// exportFiles are the files of GET /projects/{id}/export/{file}. The JSON
// files are what importGraph reads back.
var exportFiles = map[string]exportFile{
	// [{"id", "name", "label", "creator"}]
	"entities.json": {"application/json", (*Service).writeEntities},
	// [{"id", "name" (the type's), "source", "target" (entity names), "symmetric", "creator"}]
	"relations.json": {"application/json", (*Service).writeRelations},
	// [{"id", "name", "source": {"id", "name", "label"}, "target": {...}}]
	"triples.json": {"application/json", (*Service).writeTriples},
	// rdfs:label of every entity and type, then one triple per relation.
	"triples.nt": {"application/n-triples", (*Service).writeNTriples},
	// doccano's relation-extraction JSONL: one text per line with its spans.
	"texts.jsonl": {"application/jsonl", (*Service).writeDoccano},
}

// Export prepares the download file of a project the viewer is a member
// of; an unknown file and an invisible project are both NOT_FOUND.
func (s *Service) Export(ctx context.Context, projectID int, file string) (*Export, error) {
	f, ok := exportFiles[file]
	if !ok {
		return nil, apperr.Missing("export file")
	}
	p, err := s.Project(ctx, projectID)
	if err != nil {
		return nil, err
	}
	return &Export{
		FileName: fmt.Sprintf("project-%d-%s", p.ID, file), ContentType: f.contentType,
		s: s, projectID: p.ID, write: f.write,
	}, nil
}

// Write streams the export to w, flushing after every page. An error
// after the first page leaves w incomplete; the caller aborts the response
// so that the client sees a failed download, not a short file.
func (e *Export) Write(ctx context.Context, w io.Writer) error {
	bw := bufio.NewWriterSize(flushing{w}, 32<<10)
	if err := e.write(e.s, ctx, e.projectID, bw); err != nil {
		return fmt.Errorf("annotation: export: %w", err)
	}
	return bw.Flush()
}

// flushing passes writes through and flushes an HTTP response after each
// buffer, so that pages reach the client as they are read.
type flushing struct{ w io.Writer }

func (f flushing) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if fl, ok := f.w.(interface{ Flush() }); ok && err == nil {
		fl.Flush()
	}
	return n, err
}

// pages reads rows in id order, one page at a time (keyset pagination:
// id > the last one read), and hands each page to each.
func pages[T any](size int, fetch func(after, limit int) ([]T, error), id func(T) int, each func([]T) error) error {
	after := 0
	for {
		rows, err := fetch(after, size)
		if err != nil || len(rows) == 0 {
			return err
		}
		if err := each(rows); err != nil {
			return err
		}
		if len(rows) < size {
			return nil
		}
		after = id(rows[len(rows)-1])
	}
}

func withCreatorName(q *ent.UserQuery) { q.Select(user.FieldID, user.FieldUsername) }

func (s *Service) entityPages(ctx context.Context, projectID int, each func([]*ent.Entity) error) error {
	return pages(exportPage, func(after, limit int) ([]*ent.Entity, error) {
		return s.client.Entity.Query().Where(entity.ProjectID(projectID), entity.IDGT(after)).
			Order(ent.Asc(entity.FieldID)).Limit(limit).WithCreator(withCreatorName).All(ctx)
	}, func(e *ent.Entity) int { return e.ID }, each)
}

func (s *Service) relationPages(ctx context.Context, projectID int, each func([]*ent.Relation) error) error {
	return pages(exportPage, func(after, limit int) ([]*ent.Relation, error) {
		return s.client.Relation.Query().Where(relation.ProjectID(projectID), relation.IDGT(after)).
			Order(ent.Asc(relation.FieldID)).Limit(limit).
			WithType().WithSource().WithTarget().WithCreator(withCreatorName).All(ctx)
	}, func(r *ent.Relation) int { return r.ID }, each)
}

// ExportedEntity is an item of entities.json.
type ExportedEntity struct {
	ID      int    `json:"id"`
	Name    string `json:"name"`
	Label   string `json:"label"`
	Creator string `json:"creator"`
}

// ExportedRelation is an item of relations.json: its type's name and the
// names of its ends, which is what an import needs.
type ExportedRelation struct {
	ID        int    `json:"id"`
	Name      string `json:"name"`
	Source    string `json:"source"`
	Target    string `json:"target"`
	Symmetric bool   `json:"symmetric"`
	Creator   string `json:"creator"`
}

// ExportedTriple is an item of triples.json: a relation with both entities.
type ExportedTriple struct {
	ID     int         `json:"id"`
	Name   string      `json:"name"`
	Source ExportedEnd `json:"source"`
	Target ExportedEnd `json:"target"`
}

// ExportedEnd is an entity at one end of a triple.
type ExportedEnd struct {
	ID    int    `json:"id"`
	Name  string `json:"name"`
	Label string `json:"label"`
}

func (s *Service) writeEntities(ctx context.Context, projectID int, w *bufio.Writer) error {
	out := jsonArray{w: w}
	err := s.entityPages(ctx, projectID, func(page []*ent.Entity) error {
		for _, e := range page {
			out.add(ExportedEntity{ID: e.ID, Name: e.Name, Label: e.Label, Creator: e.Edges.Creator.Username})
		}
		return w.Flush()
	})
	return out.close(err)
}

func (s *Service) writeRelations(ctx context.Context, projectID int, w *bufio.Writer) error {
	out := jsonArray{w: w}
	err := s.relationPages(ctx, projectID, func(page []*ent.Relation) error {
		for _, r := range page {
			out.add(ExportedRelation{
				ID: r.ID, Name: r.Edges.Type.Name, Source: r.Edges.Source.Name, Target: r.Edges.Target.Name,
				Symmetric: r.Edges.Type.Symmetric, Creator: r.Edges.Creator.Username,
			})
		}
		return w.Flush()
	})
	return out.close(err)
}

func (s *Service) writeTriples(ctx context.Context, projectID int, w *bufio.Writer) error {
	out := jsonArray{w: w}
	end := func(e *ent.Entity) ExportedEnd { return ExportedEnd{ID: e.ID, Name: e.Name, Label: e.Label} }
	err := s.relationPages(ctx, projectID, func(page []*ent.Relation) error {
		for _, r := range page {
			out.add(ExportedTriple{ID: r.ID, Name: r.Edges.Type.Name, Source: end(r.Edges.Source), Target: end(r.Edges.Target)})
		}
		return w.Flush()
	})
	return out.close(err)
}

// jsonArray writes a JSON array one item at a time, one item per line.
type jsonArray struct {
	w   *bufio.Writer
	n   int
	buf bytes.Buffer
	err error
}

func (a *jsonArray) add(v any) {
	if a.err != nil {
		return
	}
	a.buf.Reset()
	enc := json.NewEncoder(&a.buf)
	enc.SetEscapeHTML(false)
	if a.err = enc.Encode(v); a.err != nil {
		return
	}
	sep := ",\n"
	if a.n == 0 {
		sep = "[\n"
	}
	a.n++
	a.w.WriteString(sep)
	a.w.Write(bytes.TrimSuffix(a.buf.Bytes(), []byte("\n")))
}

// close ends the array, unless err (or an encoding error) stopped it.
func (a *jsonArray) close(err error) error {
	switch {
	case err != nil:
		return err
	case a.err != nil:
		return a.err
	case a.n == 0:
		_, err = a.w.WriteString("[]\n")
	default:
		_, err = a.w.WriteString("\n]\n")
	}
	return err
}

// IRIs of the N-Triples export. Ids are global, so they need no project.
const (
	rdfsLabel       = "<http://www.w3.org/2000/01/rdf-schema#label>"
	rdfType         = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
	owlSymmetric    = "<http://www.w3.org/2002/07/owl#SymmetricProperty>"
	parleyLabel     = "<urn:parley:vocab:label>"
	entityIRI       = "<urn:parley:entity:%d>"
	relationTypeIRI = "<urn:parley:relation-type:%d>"
)

// writeNTriples writes the graph as RDF: each entity's rdfs:label (and its
// label as urn:parley:vocab:label), each relation type's rdfs:label (and
// owl:SymmetricProperty when symmetric), then one triple per relation, in
// the stored direction.
func (s *Service) writeNTriples(ctx context.Context, projectID int, w *bufio.Writer) error {
	err := s.entityPages(ctx, projectID, func(page []*ent.Entity) error {
		for _, e := range page {
			fmt.Fprintf(w, entityIRI+" %s %s .\n", e.ID, rdfsLabel, literal(e.Name))
			if e.Label != "" {
				fmt.Fprintf(w, entityIRI+" %s %s .\n", e.ID, parleyLabel, literal(e.Label))
			}
		}
		return w.Flush()
	})
	if err != nil {
		return err
	}
	err = pages(exportPage, func(after, limit int) ([]*ent.RelationType, error) {
		return s.client.RelationType.Query().Where(relationtype.ProjectID(projectID), relationtype.IDGT(after)).
			Order(ent.Asc(relationtype.FieldID)).Limit(limit).All(ctx)
	}, func(rt *ent.RelationType) int { return rt.ID }, func(page []*ent.RelationType) error {
		for _, rt := range page {
			fmt.Fprintf(w, relationTypeIRI+" %s %s .\n", rt.ID, rdfsLabel, literal(rt.Name))
			if rt.Symmetric {
				fmt.Fprintf(w, relationTypeIRI+" %s %s .\n", rt.ID, rdfType, owlSymmetric)
			}
		}
		return w.Flush()
	})
	if err != nil {
		return err
	}
	return pages(exportPage, func(after, limit int) ([]*ent.Relation, error) {
		return s.client.Relation.Query().Where(relation.ProjectID(projectID), relation.IDGT(after)).
			Order(ent.Asc(relation.FieldID)).Limit(limit).All(ctx)
	}, func(r *ent.Relation) int { return r.ID }, func(page []*ent.Relation) error {
		for _, r := range page {
			fmt.Fprintf(w, entityIRI+" "+relationTypeIRI+" "+entityIRI+" .\n", r.SourceID, r.TypeID, r.TargetID)
		}
		return w.Flush()
	})
}

// literal quotes s as an N-Triples string literal.
func literal(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// DoccanoLine is one line of texts.jsonl, in doccano's relation-extraction
// format: the text, its spans ("entities") and the relations between the
// entities it mentions. A span's label is its entity's label, or the
// entity's name when it has none; entity_id and entity name the entity. A
// relation links the first mention (by offset) of each end in the text.
type DoccanoLine struct {
	ID        int               `json:"id"`
	Name      string            `json:"name"`
	Text      string            `json:"text"`
	Entities  []DoccanoSpan     `json:"entities"`
	Relations []DoccanoRelation `json:"relations"`
}

// DoccanoSpan is a mention in texts.jsonl.
type DoccanoSpan struct {
	ID          int    `json:"id"`
	Label       string `json:"label"`
	StartOffset int    `json:"start_offset"`
	EndOffset   int    `json:"end_offset"`
	EntityID    int    `json:"entity_id"`
	Entity      string `json:"entity"`
}

// DoccanoRelation is a relation between two spans in texts.jsonl.
type DoccanoRelation struct {
	ID     int    `json:"id"`
	FromID int    `json:"from_id"`
	ToID   int    `json:"to_id"`
	Type   string `json:"type"`
}

func (s *Service) writeDoccano(ctx context.Context, projectID int, w *bufio.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return pages(exportTextPage, func(after, limit int) ([]*ent.Text, error) {
		return s.client.Text.Query().Where(text.ProjectID(projectID), text.IDGT(after)).
			Order(ent.Asc(text.FieldID)).Limit(limit).All(ctx)
	}, func(t *ent.Text) int { return t.ID }, func(page []*ent.Text) error {
		lines, err := s.doccanoPage(ctx, page)
		if err != nil {
			return err
		}
		for _, line := range lines {
			if err := enc.Encode(line); err != nil {
				return err
			}
		}
		return w.Flush()
	})
}

// doccanoPage builds the lines of a page of texts with two queries: their
// mentions, and the relations among the entities they mention.
func (s *Service) doccanoPage(ctx context.Context, texts []*ent.Text) ([]DoccanoLine, error) {
	ids := make([]int, len(texts))
	for i, t := range texts {
		ids[i] = t.ID
	}
	mentions, err := s.client.Mention.Query().Where(mention.TextIDIn(ids...)).
		Order(ent.Asc(mention.FieldStart), ent.Asc(mention.FieldEnd), ent.Asc(mention.FieldID)).
		WithEntity(func(q *ent.EntityQuery) { q.Select(entity.FieldID, entity.FieldName, entity.FieldLabel) }).
		All(ctx)
	if err != nil {
		return nil, err
	}
	var entities []int
	for _, m := range mentions {
		entities = append(entities, m.EntityID)
	}
	entities = slices.Compact(slices.Sorted(slices.Values(entities)))
	rels, err := s.client.Relation.Query().
		Where(relation.SourceIDIn(entities...), relation.TargetIDIn(entities...)).
		Order(ent.Asc(relation.FieldID)).WithType().All(ctx)
	if err != nil {
		return nil, err
	}
	lines := make([]DoccanoLine, len(texts))
	for i, t := range texts {
		line := DoccanoLine{ID: t.ID, Name: t.Name, Text: t.Content, Entities: []DoccanoSpan{}, Relations: []DoccanoRelation{}}
		first := map[int]int{} // entity id -> its first mention in this text
		for _, m := range mentions {
			if m.TextID != t.ID {
				continue
			}
			label := m.Edges.Entity.Label
			if label == "" {
				label = m.Edges.Entity.Name
			}
			line.Entities = append(line.Entities, DoccanoSpan{
				ID: m.ID, Label: label, StartOffset: m.Start, EndOffset: m.End,
				EntityID: m.EntityID, Entity: m.Edges.Entity.Name,
			})
			if _, seen := first[m.EntityID]; !seen {
				first[m.EntityID] = m.ID
			}
		}
		for _, r := range rels {
			from, okFrom := first[r.SourceID]
			to, okTo := first[r.TargetID]
			if okFrom && okTo {
				line.Relations = append(line.Relations, DoccanoRelation{ID: r.ID, FromID: from, ToID: to, Type: r.Edges.Type.Name})
			}
		}
		lines[i] = line
	}
	return lines, nil
}
