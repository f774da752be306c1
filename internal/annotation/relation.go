package annotation

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/relation"
	"github.com/parley-im/parley/ent/relationtype"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/platform/apperr"
	"github.com/parley-im/parley/internal/platform/ratelimit"
)

// AddRelationTypeInput is addRelationType's input. Empty label lists allow
// any label; the constraints and the symmetric flag are fixed once the type
// exists, since relations were checked against them (to change them, add a
// new type and move relations with changeRelationType, which checks them).
type AddRelationTypeInput struct {
	ProjectID    int      `json:"projectId"`
	Name         string   `json:"name"`
	SourceLabels []string `json:"sourceLabels"`
	TargetLabels []string `json:"targetLabels"`
	Symmetric    *bool    `json:"symmetric"`
}

// AddRelationInput is addRelation's input.
type AddRelationInput struct {
	TypeID   int `json:"typeId"`
	SourceID int `json:"sourceId"`
	TargetID int `json:"targetId"`
}

// RelationTypes selects a project's relation types.
func (s *Service) RelationTypes(ctx context.Context, projectID int) (*ent.RelationTypeQuery, error) {
	p, err := s.Project(ctx, projectID)
	if err != nil {
		return nil, err
	}
	return s.reader(ctx).RelationType.Query().Where(relationtype.ProjectID(p.ID)), nil
}

// AddRelationType adds a relation type. Names are unique per project by
// NameKey.
func (s *Service) AddRelationType(ctx context.Context, in AddRelationTypeInput) (*ent.RelationType, error) {
	db, p, err := writing(ctx, memberProject, in.ProjectID, "input.projectId")
	if err != nil {
		return nil, err
	}
	name, err := cleanName(in.Name, "input.name", RelationTypeNameMax)
	if err != nil {
		return nil, err
	}
	sources, err := cleanLabels(in.SourceLabels, "input.sourceLabels")
	if err != nil {
		return nil, err
	}
	targets, err := cleanLabels(in.TargetLabels, "input.targetLabels")
	if err != nil {
		return nil, err
	}
	if err := s.budget.Spend(ctx, ratelimit.Entities, 1); err != nil {
		return nil, err
	}
	rt, err := s.createRelationType(ctx, db, p.ID, name, sources, targets, deref(in.Symmetric), "input.name")
	if err != nil {
		return nil, err
	}
	return rt, s.log.Append(ctx, record(ctx, p.ID, KindRelationTypeCreated, rt.ID, nil))
}

// createRelationType checks the name's uniqueness and creates the type;
// addRelationType and importGraph share it.
func (s *Service) createRelationType(ctx context.Context, db *ent.Client, projectID int, name string, sources, targets []string, symmetric bool, field string) (*ent.RelationType, error) {
	if err := relationTypeNaming.free(ctx, db, projectID, 0, name, field); err != nil {
		return nil, err
	}
	rt, err := db.RelationType.Create().SetProjectID(projectID).SetName(name).SetNameKey(NameKey(name)).
		SetSourceLabels(sources).SetTargetLabels(targets).SetSymmetric(symmetric).
		SetCreatorID(viewer.UserID(ctx)).Save(ctx)
	return rt, saved(err, "add relation type", ReasonReadOnlyRole, ReasonRelationTypeNameTaken, field)
}

// cleanLabels validates a constraint list: each label like cleanLabel but
// required, duplicates dropped, at most LabelsMax.
func cleanLabels(raw []string, field string) ([]string, error) {
	out := make([]string, 0, len(raw))
	for i, l := range raw {
		label, err := cleanName(l, fieldAt(field, i), LabelMax)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, label) {
			out = append(out, label)
		}
	}
	if len(out) > LabelsMax {
		return nil, apperr.Input(ReasonTooManyLabels, field, "at most %d labels", LabelsMax)
	}
	return out, nil
}

// DeleteRelationType deletes a relation type that no relation uses. A type
// in use is refused (RELATION_TYPE_IN_USE) rather than cascading: deleting
// a type should not silently delete annotators' relations. Delete or retype
// them first. The foreign key (ON DELETE NO ACTION) backs this up.
func (s *Service) DeleteRelationType(ctx context.Context, id int) (int, error) {
	db, rt, err := writing(ctx, loadRelationType, id, "id")
	if err != nil {
		return 0, err
	}
	used, err := db.Relation.Query().Where(relation.TypeID(rt.ID)).Count(ctx)
	if err != nil {
		return 0, err
	}
	if used > 0 {
		return 0, conflict(ReasonRelationTypeInUse, "id", "%d relations use the type %q", used, apperr.Clip(rt.Name))
	}
	if err := db.RelationType.DeleteOneID(rt.ID).Exec(ctx); err != nil {
		return 0, denied(err, ReasonReadOnlyRole, "delete relation type")
	}
	return rt.ID, s.log.Append(ctx, record(ctx, rt.ProjectID, KindRelationTypeDeleted, rt.ID, nil))
}

func loadRelationType(ctx context.Context, db *ent.Client, id int, field string) (*ent.RelationType, error) {
	rt, err := db.RelationType.Get(ctx, id)
	return rt, found(err, "relation type", field)
}

// Relations selects a project's relations, those touching entityID
// and those of typeID when given.
func (s *Service) Relations(ctx context.Context, projectID int, entityID, typeID *int) (*ent.RelationQuery, error) {
	p, err := s.Project(ctx, projectID)
	if err != nil {
		return nil, err
	}
	q := s.reader(ctx).Relation.Query().Where(relation.ProjectID(p.ID))
	if entityID != nil {
		q.Where(relation.Or(relation.SourceID(*entityID), relation.TargetID(*entityID)))
	}
	if typeID != nil {
		q.Where(relation.TypeID(*typeID))
	}
	return q, nil
}

// AddRelation adds a relation: its type, source and target of one project,
// two different entities, the labels its type allows, and a free pair.
func (s *Service) AddRelation(ctx context.Context, in AddRelationInput) (*ent.Relation, error) {
	db, rt, err := writing(ctx, loadRelationType, in.TypeID, "input.typeId")
	if err != nil {
		return nil, err
	}
	source, err := loadEntity(ctx, db, in.SourceID, "input.sourceId")
	if err != nil {
		return nil, err
	}
	target, err := loadEntity(ctx, db, in.TargetID, "input.targetId")
	if err != nil {
		return nil, err
	}
	if err := s.relationAllowed(ctx, db, rt, source, target, 0); err != nil {
		return nil, err
	}
	if err := s.budget.Spend(ctx, ratelimit.Entities, 1); err != nil {
		return nil, err
	}
	r, err := s.createRelation(ctx, db, rt, source, target)
	if err != nil {
		return nil, err
	}
	return r, s.log.Append(ctx, record(ctx, rt.ProjectID, KindRelationCreated, r.ID, nil))
}

func (s *Service) createRelation(ctx context.Context, db *ent.Client, rt *ent.RelationType, source, target *ent.Entity) (*ent.Relation, error) {
	r, err := db.Relation.Create().SetProjectID(rt.ProjectID).SetTypeID(rt.ID).
		SetSourceID(source.ID).SetTargetID(target.ID).SetPairKey(PairKey(source.ID, target.ID)).
		SetCreatorID(viewer.UserID(ctx)).Save(ctx)
	return r, saved(err, "add relation", ReasonReadOnlyRole, ReasonPairTaken, "input.targetId")
}

// relationAllowed applies the rules of a relation of type rt from source to
// target; except is the relation being changed, whose own pair is free.
func (s *Service) relationAllowed(ctx context.Context, db *ent.Client, rt *ent.RelationType, source, target *ent.Entity, except int) error {
	switch {
	case source.ProjectID != rt.ProjectID:
		return apperr.Input(ReasonCrossProject, "input.sourceId", "the source belongs to another project than the relation type")
	case target.ProjectID != rt.ProjectID:
		return apperr.Input(ReasonCrossProject, "input.targetId", "the target belongs to another project than the relation type")
	case source.ID == target.ID:
		return apperr.Input(ReasonSelfRelation, "input.targetId", "a relation joins two different entities")
	}
	if err := checkLabels(rt, source, target); err != nil {
		return err
	}
	return checkPair(ctx, db, source, target, except)
}

// checkLabels enforces a type's brat-style constraints: the source's label
// must be one of its source labels and the target's one of its target
// labels (an empty list allows any, and labels compare exactly). A
// symmetric type also accepts the pair the other way round.
func checkLabels(rt *ent.RelationType, source, target *ent.Entity) error {
	allows := func(labels []string, label string) bool { return len(labels) == 0 || slices.Contains(labels, label) }
	switch {
	case allows(rt.SourceLabels, source.Label) && allows(rt.TargetLabels, target.Label):
		return nil
	case rt.Symmetric && allows(rt.SourceLabels, target.Label) && allows(rt.TargetLabels, source.Label):
		return nil
	case !allows(rt.SourceLabels, source.Label):
		return apperr.Input(ReasonSourceLabelNotAllowed, "input.sourceId",
			"%q does not allow a source labelled %q (allowed: %v)", apperr.Clip(rt.Name), apperr.Clip(source.Label), rt.SourceLabels)
	}
	return apperr.Input(ReasonTargetLabelNotAllowed, "input.targetId",
		"%q does not allow a target labelled %q (allowed: %v)", apperr.Clip(rt.Name), apperr.Clip(target.Label), rt.TargetLabels)
}

// checkPair enforces "at most one relation between two entities" (the
// seed's 两者之间已经存在其他关系), whichever way either points and whatever
// its type: source -> target must be free (PAIR_TAKEN), and so must
// target -> source (REVERSE_PAIR_TAKEN). except is a relation being changed.
func checkPair(ctx context.Context, db *ent.Client, source, target *ent.Entity, except int) error {
	rows, err := db.Relation.Query().Where(relation.IDNEQ(except), relation.Or(
		relation.And(relation.SourceID(source.ID), relation.TargetID(target.ID)),
		relation.And(relation.SourceID(target.ID), relation.TargetID(source.ID)),
	)).All(ctx)
	switch {
	case err != nil:
		return err
	case len(rows) == 0:
		return nil
	case rows[0].SourceID == source.ID:
		return conflict(ReasonPairTaken, "input.targetId", "%q and %q already have a relation", apperr.Clip(source.Name), apperr.Clip(target.Name))
	}
	return conflict(ReasonReversePairTaken, "input.targetId",
		"%q and %q already have a relation the other way, and two entities have at most one", apperr.Clip(source.Name), apperr.Clip(target.Name))
}

// PairKey names the unordered pair of entities a and b, the same whichever
// way a relation between them points.
func PairKey(a, b int) string { return fmt.Sprintf("%d:%d", min(a, b), max(a, b)) }

// ChangeRelationType gives a relation another type of its project, under
// the rules of adding it.
func (s *Service) ChangeRelationType(ctx context.Context, id, typeID int) (*ent.Relation, error) {
	db, err := writer(ctx)
	if err != nil {
		return nil, err
	}
	r, err := db.Relation.Query().Where(relation.ID(id)).WithSource().WithTarget().Only(ctx)
	if err != nil {
		return nil, found(err, "relation", "id")
	}
	rt, err := loadRelationType(ctx, db, typeID, "typeId")
	if err != nil {
		return nil, err
	}
	if rt.ProjectID != r.ProjectID {
		return nil, apperr.Input(ReasonCrossProject, "typeId", "the type belongs to another project than the relation")
	}
	if err := s.relationAllowed(ctx, db, rt, r.Edges.Source, r.Edges.Target, r.ID); err != nil {
		return nil, atField(err, "typeId")
	}
	r, err = db.Relation.UpdateOneID(r.ID).SetTypeID(rt.ID).Save(ctx)
	if err != nil {
		return nil, denied(err, ReasonReadOnlyRole, "change relation type")
	}
	return r, s.log.Append(ctx, record(ctx, r.ProjectID, KindRelationRetyped, r.ID, nil))
}

// DeleteRelation deletes a relation.
func (s *Service) DeleteRelation(ctx context.Context, id int) (int, error) {
	db, err := writer(ctx)
	if err != nil {
		return 0, err
	}
	r, err := db.Relation.Get(ctx, id)
	if err != nil {
		return 0, found(err, "relation", "id")
	}
	if err := db.Relation.DeleteOneID(r.ID).Exec(ctx); err != nil {
		return 0, denied(err, ReasonReadOnlyRole, "delete relation")
	}
	return r.ID, s.log.Append(ctx, record(ctx, r.ProjectID, KindRelationDeleted, r.ID, nil))
}

func fieldAt(field string, i int) string {
	return field + "[" + strconv.Itoa(i) + "]"
}

// atField moves an input error to field: changeRelationType reports the
// rules of addRelation on its typeId argument.
func atField(err error, field string) error {
	if e, ok := apperr.As(err); ok && e.Field != "" {
		moved := *e
		moved.Field = field
		return &moved
	}
	return err
}
