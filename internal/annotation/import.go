package annotation

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/entity"
	"github.com/parley-im/parley/ent/relationtype"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/platform/apperr"
	"github.com/parley-im/parley/internal/platform/ratelimit"
)

// Limits of importGraph: the data stays well below the request body limit
// (1 MiB by default), and few enough items commit in one transaction in
// seconds.
const (
	ImportMaxBytes  = 512 << 10
	ImportMaxItems  = 5000
	importMaxListed = 100 // skipped items listed in the report
	importBatch     = 500 // entity items checked and inserted at a time
)

// ImportReport is what an import did.
type ImportReport struct {
	EntitiesCreated      int
	RelationTypesCreated int
	RelationsCreated     int
	SkippedCount         int
	Skipped              []*ImportSkip
}

// ImportSkip is an item the import skipped, with the reason addEntity or
// addRelation would have given.
type ImportSkip struct {
	Kind   string
	Index  int
	Name   string
	Reason string
}

// importItem is an item of the data. Relations have a source and a target;
// their type is "name" (relations.json, triples.json) or "type" (doccano).
type importItem struct {
	index  int
	Name   string     `json:"name"`
	Type   string     `json:"type"`
	Label  string     `json:"label"`
	Source *importEnd `json:"source"`
	Target *importEnd `json:"target"`
	// Symmetric (relations.json) applies when the import creates the type.
	Symmetric bool `json:"symmetric"`
}

// importEnd is a relation's end: an entity name (relations.json) or an
// object with name and label (triples.json).
type importEnd struct {
	Name  string `json:"name"`
	Label string `json:"label"`
}

// UnmarshalJSON accepts both forms of an end.
func (e *importEnd) UnmarshalJSON(b []byte) error {
	if json.Unmarshal(b, &e.Name) == nil {
		return nil
	}
	type plain importEnd
	return json.Unmarshal(b, (*plain)(e))
}

// parseImport reads the data: an array as the export endpoints write it
// (each item is a relation if it has a source or a target, an entity
// otherwise), or {"entities": [...], "relations": [...]}. Malformed data
// fails the whole import.
func parseImport(data string) (entities, relations []importItem, err error) {
	if len(data) > ImportMaxBytes {
		return nil, nil, apperr.Input(ReasonImportTooLarge, "data", "data is larger than %d bytes", ImportMaxBytes)
	}
	invalid := func(err error) error {
		return apperr.Input(ReasonImportInvalid, "data", "data is not an export of entities, relations or triples: %v", err)
	}
	trimmed := strings.TrimSpace(data)
	switch {
	case strings.HasPrefix(trimmed, "{"):
		var doc struct{ Entities, Relations []importItem }
		if err := json.Unmarshal([]byte(trimmed), &doc); err != nil {
			return nil, nil, invalid(err)
		}
		entities, relations = doc.Entities, doc.Relations
		for i := range entities {
			entities[i].index = i
		}
		for i := range relations {
			relations[i].index = i
		}
	case strings.HasPrefix(trimmed, "["):
		var items []importItem
		if err := json.Unmarshal([]byte(trimmed), &items); err != nil {
			return nil, nil, invalid(err)
		}
		for i, it := range items {
			it.index = i
			if it.Source != nil || it.Target != nil {
				relations = append(relations, it)
			} else {
				entities = append(entities, it)
			}
		}
	default:
		return nil, nil, invalid(errors.New("expected a JSON array or object"))
	}
	if len(entities)+len(relations) > ImportMaxItems {
		return nil, nil, apperr.Input(ReasonImportTooLarge, "data", "data has more than %d items", ImportMaxItems)
	}
	return entities, relations, nil
}

// Import adds entities and relations to a project in one transaction (the
// mutation's) and reports what it created and skipped. Entities and
// relation types are matched by NameKey: an entity that exists is skipped
// (ENTITY_NAME_TAKEN), but a relation's ends and type are reused when they
// exist and created when they do not (types without label constraints). Items that
// break a rule are skipped with the rule's reason; a refusal of the policy
// (a viewer-role member) fails the whole import. Subscribers get one
// project.imported event with the counts, not one event per item.
func (s *Service) Import(ctx context.Context, projectID int, data string) (*ImportReport, error) {
	db, p, err := writing(ctx, memberProject, projectID, "projectId")
	if err != nil {
		return nil, err
	}
	entities, relations, err := parseImport(data)
	if err != nil {
		return nil, err
	}
	// Every item may create an object: the import spends one per item, at
	// once, and may leave the budget in debt (ratelimit.Buckets.Take).
	if err := s.budget.Spend(ctx, ratelimit.Entities, len(entities)+len(relations)); err != nil {
		return nil, err
	}
	run := &importRun{
		s: s, db: db, projectID: p.ID, report: &ImportReport{Skipped: []*ImportSkip{}},
		byKey: map[string]*ent.Entity{}, typesByKey: map[string]*ent.RelationType{},
	}
	for start := 0; start < len(entities); start += importBatch {
		if err := run.entities(ctx, entities[start:min(start+importBatch, len(entities))]); err != nil {
			return nil, err
		}
	}
	for _, it := range relations {
		if err := run.skip("relation", it, run.relation(ctx, it)); err != nil {
			return nil, err
		}
	}
	r := run.report
	if r.EntitiesCreated+r.RelationTypesCreated+r.RelationsCreated == 0 {
		return r, nil
	}
	return r, s.log.Append(ctx, record(ctx, p.ID, KindProjectImported, p.ID, map[string]any{
		"entitiesCreated": r.EntitiesCreated, "relationTypesCreated": r.RelationTypesCreated,
		"relationsCreated": r.RelationsCreated, "skippedCount": r.SkippedCount,
	}))
}

// importRun is one import's state: the report and the entities and types
// already found or created, by NameKey.
type importRun struct {
	s          *Service
	db         *ent.Client
	projectID  int
	report     *ImportReport
	byKey      map[string]*ent.Entity // entities found or created, by NameKey
	typesByKey map[string]*ent.RelationType
}

// skip records an item that broke a rule (BAD_USER_INPUT or CONFLICT) and
// passes any other error on, which ends the import.
func (r *importRun) skip(kind string, it importItem, err error) error {
	e, ok := apperr.As(err)
	if err == nil || !ok || (e.Code != apperr.BadUserInput && e.Code != apperr.Conflict) {
		return err
	}
	r.report.SkippedCount++
	if len(r.report.Skipped) < importMaxListed {
		name := it.Name
		if name == "" {
			name = it.Type
		}
		r.report.Skipped = append(r.report.Skipped, &ImportSkip{Kind: kind, Index: it.index, Name: name, Reason: e.Reason})
	}
	return nil
}

// entities imports a batch of entity items with one query for the names
// that exist and one INSERT, instead of a check and an insert per item.
// Each item is checked by the rules of addEntity, in order.
func (r *importRun) entities(ctx context.Context, batch []importItem) error {
	type row struct {
		name, label, key string
		err              error
	}
	rows := make([]row, len(batch))
	var keys []string
	for i, it := range batch {
		name, err := cleanName(it.Name, "name", EntityNameMax)
		label := ""
		if err == nil {
			label, err = cleanLabel(it.Label, "label")
		}
		rows[i] = row{name: name, label: label, key: NameKey(name), err: err}
		if err == nil {
			keys = append(keys, rows[i].key)
		}
	}
	existing, err := r.db.Entity.Query().
		Where(entity.ProjectID(r.projectID), entity.NameKeyIn(keys...)).All(ctx)
	if err != nil {
		return err
	}
	for _, e := range existing {
		r.byKey[e.NameKey] = e
	}
	var creates []*ent.EntityCreate
	for i, row := range rows {
		if _, taken := r.byKey[row.key]; taken && row.err == nil {
			row.err = conflict(ReasonEntityNameTaken, "name", "the project already has an entity named %q", apperr.Clip(row.name))
		}
		if row.err != nil {
			if err := r.skip("entity", batch[i], row.err); err != nil {
				return err
			}
			continue
		}
		r.byKey[row.key] = nil // taken by this batch; set once created
		creates = append(creates, r.db.Entity.Create().SetProjectID(r.projectID).SetName(row.name).
			SetNameKey(row.key).SetLabel(row.label).SetCreatorID(viewer.UserID(ctx)))
	}
	if len(creates) == 0 {
		return nil
	}
	created, err := r.db.Entity.CreateBulk(creates...).Save(ctx)
	if err != nil {
		return saved(err, "import entities", ReasonReadOnlyRole, ReasonEntityNameTaken, "data")
	}
	for _, e := range created {
		r.byKey[e.NameKey] = e
	}
	r.report.EntitiesCreated += len(created)
	return nil
}

func (r *importRun) newEntity(ctx context.Context, name, label string) (*ent.Entity, error) {
	e, err := r.s.createEntity(ctx, r.db, r.projectID, name, label, "name")
	if err != nil {
		return nil, err
	}
	r.byKey[e.NameKey] = e
	r.report.EntitiesCreated++
	return e, nil
}

func (r *importRun) relation(ctx context.Context, it importItem) error {
	typeName := it.Name
	if typeName == "" {
		typeName = it.Type
	}
	typeName, err := cleanName(typeName, "name", RelationTypeNameMax)
	if err != nil {
		return err
	}
	rt, err := r.relationType(ctx, typeName, it.Symmetric)
	if err != nil {
		return err
	}
	source, err := r.end(ctx, it.Source, "source")
	if err != nil {
		return err
	}
	target, err := r.end(ctx, it.Target, "target")
	if err != nil {
		return err
	}
	if err := r.s.relationAllowed(ctx, r.db, rt, source, target, 0); err != nil {
		return err
	}
	if _, err := r.s.createRelation(ctx, r.db, rt, source, target); err != nil {
		return err
	}
	r.report.RelationsCreated++
	return nil
}

// end finds a relation's end by NameKey, or creates it.
func (r *importRun) end(ctx context.Context, end *importEnd, field string) (*ent.Entity, error) {
	if end == nil {
		end = &importEnd{}
	}
	name, err := cleanName(end.Name, field, EntityNameMax)
	if err != nil {
		return nil, err
	}
	key := NameKey(name)
	if e, ok := r.byKey[key]; ok {
		return e, nil
	}
	e, err := r.db.Entity.Query().Where(entity.ProjectID(r.projectID), entity.NameKey(key)).Only(ctx)
	switch {
	case err == nil:
		r.byKey[key] = e
		return e, nil
	case !ent.IsNotFound(err):
		return nil, err
	}
	label, err := cleanLabel(end.Label, field+".label")
	if err != nil {
		return nil, err
	}
	return r.newEntity(ctx, name, label)
}

// relationType finds a type by NameKey, or creates it without label
// constraints, symmetric as the item says.
func (r *importRun) relationType(ctx context.Context, name string, symmetric bool) (*ent.RelationType, error) {
	key := NameKey(name)
	if rt, ok := r.typesByKey[key]; ok {
		return rt, nil
	}
	rt, err := r.db.RelationType.Query().
		Where(relationtype.ProjectID(r.projectID), relationtype.NameKey(key)).Only(ctx)
	if ent.IsNotFound(err) {
		if rt, err = r.s.createRelationType(ctx, r.db, r.projectID, name, nil, nil, symmetric, "name"); err == nil {
			r.report.RelationTypesCreated++
		}
	}
	if err != nil {
		return nil, err
	}
	r.typesByKey[key] = rt
	return rt, nil
}
