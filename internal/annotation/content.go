package annotation

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/entity"
	"github.com/parley-im/parley/ent/mention"
	"github.com/parley-im/parley/ent/predicate"
	"github.com/parley-im/parley/ent/relation"
	"github.com/parley-im/parley/ent/text"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/platform/apperr"
	"github.com/parley-im/parley/internal/platform/eventlog"
	"github.com/parley-im/parley/internal/platform/ratelimit"
)

// AddTextInput is addText's input.
type AddTextInput struct {
	ProjectID int    `json:"projectId"`
	Name      string `json:"name"`
	Content   string `json:"content"`
}

// AddEntityInput is addEntity's input.
type AddEntityInput struct {
	ProjectID int     `json:"projectId"`
	Name      string  `json:"name"`
	Label     *string `json:"label"`
}

// AddMentionInput is addMention's input: the span [Start, End) of a text,
// in characters (Unicode code points, as doccano and Python count them).
type AddMentionInput struct {
	TextID   int `json:"textId"`
	EntityID int `json:"entityId"`
	Start    int `json:"start"`
	End      int `json:"end"`
}

// Texts selects a project's texts. The connection resolver loads
// only the fields the query asks for, so a list without content never
// reads it.
func (s *Service) Texts(ctx context.Context, projectID int) (*ent.TextQuery, error) {
	p, err := s.Project(ctx, projectID)
	if err != nil {
		return nil, err
	}
	return s.reader(ctx).Text.Query().Where(text.ProjectID(p.ID)), nil
}

// AddText adds a text to a project. Its content is fixed from then on, so
// that mention offsets stay valid; its length in characters is stored.
func (s *Service) AddText(ctx context.Context, in AddTextInput) (*ent.Text, error) {
	db, p, err := writing(ctx, memberProject, in.ProjectID, "input.projectId")
	if err != nil {
		return nil, err
	}
	name, err := cleanName(in.Name, "input.name", TextNameMax)
	if err != nil {
		return nil, err
	}
	length := utf8.RuneCountInString(in.Content)
	switch {
	case strings.TrimSpace(in.Content) == "":
		return nil, apperr.Input(apperr.ReasonRequired, "input.content", "content is required")
	case length > TextContentMax:
		return nil, apperr.Input(apperr.ReasonTooLong, "input.content", "content is longer than %d characters", TextContentMax)
	case !utf8.ValidString(in.Content):
		return nil, apperr.Input(apperr.ReasonInvalid, "input.content", "content is not valid UTF-8")
	}
	if err := s.budget.Spend(ctx, ratelimit.Texts, 1); err != nil {
		return nil, err
	}
	t, err := db.Text.Create().SetProjectID(p.ID).SetName(name).SetContent(in.Content).
		SetLength(length).SetCreatorID(viewer.UserID(ctx)).Save(ctx)
	if err != nil {
		return nil, denied(err, ReasonReadOnlyRole, "add text")
	}
	return t, s.log.Append(ctx, record(ctx, p.ID, KindTextCreated, t.ID, nil))
}

// RenameText renames a text.
func (s *Service) RenameText(ctx context.Context, id int, name string) (*ent.Text, error) {
	db, t, err := writing(ctx, textHead, id, "id")
	if err != nil {
		return nil, err
	}
	if name, err = cleanName(name, "name", TextNameMax); err != nil {
		return nil, err
	}
	if err := db.Text.UpdateOneID(t.ID).SetName(name).Exec(ctx); err != nil {
		return nil, denied(err, ReasonReadOnlyRole, "rename text")
	}
	if err := s.log.Append(ctx, record(ctx, t.ProjectID, KindTextRenamed, t.ID, nil)); err != nil {
		return nil, err
	}
	return db.Text.Get(ctx, t.ID)
}

// DeleteText deletes a text; its mentions go with it (ON DELETE CASCADE),
// each with its own mention.deleted event.
func (s *Service) DeleteText(ctx context.Context, id int) (int, error) {
	db, t, err := writing(ctx, textHead, id, "id")
	if err != nil {
		return 0, err
	}
	events, err := deleteWithMentions(ctx, db, t.ProjectID, mention.TextID(t.ID), "delete text",
		func() error { return db.Text.DeleteOneID(t.ID).Exec(ctx) })
	if err != nil {
		return 0, err
	}
	return t.ID, s.log.Append(ctx, append(events, record(ctx, t.ProjectID, KindTextDeleted, t.ID, nil))...)
}

// deleteWithMentions deletes a text or an entity with del (the viewer's
// write, FORBIDDEN for a viewer-role member), and with it, by ON DELETE
// CASCADE, its mentions (which): their ids are read first, so that each is
// told by its own mention.deleted event, which it returns.
func deleteWithMentions(ctx context.Context, db *ent.Client, projectID int, which predicate.Mention, op string, del func() error) ([]eventlog.Record, error) {
	mentions, err := db.Mention.Query().Where(which).IDs(ctx)
	if err != nil {
		return nil, err
	}
	if err := del(); err != nil {
		return nil, denied(err, ReasonReadOnlyRole, op)
	}
	return deletions(ctx, projectID, KindMentionDeleted, mentions), nil
}

// textHead loads a text the viewer can see without its content.
func textHead(ctx context.Context, db *ent.Client, id int, field string) (*ent.Text, error) {
	t, err := db.Text.Query().Where(text.ID(id)).
		Select(text.FieldID, text.FieldProjectID, text.FieldName, text.FieldLength).Only(ctx)
	return t, found(err, "text", field)
}

// checkFilter bounds a name filter: no name is longer than EntityNameMax,
// so a longer filter can match nothing, and databases bound LIKE patterns.
func checkFilter(name *string) error {
	if name != nil && utf8.RuneCountInString(*name) > EntityNameMax {
		return apperr.Input(apperr.ReasonTooLong, "name", "a name filter is at most %d characters", EntityNameMax)
	}
	return nil
}

// Entities selects a project's entities: those whose name contains
// name (by NameKey, so case-insensitively) and those created by creatorID,
// when given.
func (s *Service) Entities(ctx context.Context, projectID int, name *string, creatorID *int) (*ent.EntityQuery, error) {
	p, err := s.Project(ctx, projectID)
	if err != nil {
		return nil, err
	}
	if err := checkFilter(name); err != nil {
		return nil, err
	}
	q := s.reader(ctx).Entity.Query().Where(entity.ProjectID(p.ID))
	if key := NameKey(deref(name)); key != "" {
		q.Where(entity.NameKeyContains(key))
	}
	if creatorID != nil {
		q.Where(entity.CreatorID(*creatorID))
	}
	return q, nil
}

// AddEntity adds an entity to a project. Names are unique per project by
// NameKey.
func (s *Service) AddEntity(ctx context.Context, in AddEntityInput) (*ent.Entity, error) {
	db, p, err := writing(ctx, memberProject, in.ProjectID, "input.projectId")
	if err != nil {
		return nil, err
	}
	name, err := cleanName(in.Name, "input.name", EntityNameMax)
	if err != nil {
		return nil, err
	}
	label, err := cleanLabel(deref(in.Label), "input.label")
	if err != nil {
		return nil, err
	}
	if err := s.budget.Spend(ctx, ratelimit.Entities, 1); err != nil {
		return nil, err
	}
	e, err := s.createEntity(ctx, db, p.ID, name, label, "input.name")
	if err != nil {
		return nil, err
	}
	return e, s.log.Append(ctx, record(ctx, p.ID, KindEntityCreated, e.ID, nil))
}

// createEntity checks the name's uniqueness and creates the entity; addEntity
// and importGraph share it.
func (s *Service) createEntity(ctx context.Context, db *ent.Client, projectID int, name, label, field string) (*ent.Entity, error) {
	if err := entityNaming.free(ctx, db, projectID, 0, name, field); err != nil {
		return nil, err
	}
	e, err := db.Entity.Create().SetProjectID(projectID).SetName(name).SetNameKey(NameKey(name)).
		SetLabel(label).SetCreatorID(viewer.UserID(ctx)).Save(ctx)
	return e, saved(err, "add entity", ReasonReadOnlyRole, ReasonEntityNameTaken, field)
}

// RelabelEntity changes an entity's label, unless one of its relations'
// types would then refuse it (LABEL_BREAKS_RELATION).
func (s *Service) RelabelEntity(ctx context.Context, id int, label string) (*ent.Entity, error) {
	db, e, err := writing(ctx, loadEntity, id, "id")
	if err != nil {
		return nil, err
	}
	if label, err = cleanLabel(label, "label"); err != nil {
		return nil, err
	}
	rels, err := db.Relation.Query().
		Where(relation.Or(relation.SourceID(e.ID), relation.TargetID(e.ID))).
		WithType().WithSource().WithTarget().All(ctx)
	if err != nil {
		return nil, err
	}
	for _, r := range rels {
		source, target := *r.Edges.Source, *r.Edges.Target
		if source.ID == e.ID {
			source.Label = label
		}
		if target.ID == e.ID {
			target.Label = label
		}
		if checkLabels(r.Edges.Type, &source, &target) != nil {
			return nil, conflict(ReasonLabelBreaksRelation, "label",
				"relation %q from %q to %q does not allow the label %q", apperr.Clip(r.Edges.Type.Name), apperr.Clip(source.Name), apperr.Clip(target.Name), apperr.Clip(label))
		}
	}
	e, err = db.Entity.UpdateOneID(e.ID).SetLabel(label).Save(ctx)
	if err != nil {
		return nil, denied(err, ReasonReadOnlyRole, "relabel entity")
	}
	return e, s.log.Append(ctx, record(ctx, e.ProjectID, KindEntityRelabelled, e.ID, nil))
}

// DeleteEntity deletes an entity; its relations (either way) and its
// mentions go with it (ON DELETE CASCADE), each with its deletion event.
func (s *Service) DeleteEntity(ctx context.Context, id int) (int, error) {
	db, e, err := writing(ctx, loadEntity, id, "id")
	if err != nil {
		return 0, err
	}
	relations, err := db.Relation.Query().
		Where(relation.Or(relation.SourceID(e.ID), relation.TargetID(e.ID))).IDs(ctx)
	if err != nil {
		return 0, err
	}
	mentions, err := deleteWithMentions(ctx, db, e.ProjectID, mention.EntityID(e.ID), "delete entity",
		func() error { return db.Entity.DeleteOneID(e.ID).Exec(ctx) })
	if err != nil {
		return 0, err
	}
	events := append(deletions(ctx, e.ProjectID, KindRelationDeleted, relations), mentions...)
	return e.ID, s.log.Append(ctx, append(events, record(ctx, e.ProjectID, KindEntityDeleted, e.ID, nil))...)
}

func loadEntity(ctx context.Context, db *ent.Client, id int, field string) (*ent.Entity, error) {
	e, err := db.Entity.Get(ctx, id)
	return e, found(err, "entity", field)
}

// AddMention marks a span of a text as a mention of an entity of the same
// project. Spans may overlap and nest (one span may mention several
// entities); the same span cannot point at the same entity twice.
func (s *Service) AddMention(ctx context.Context, in AddMentionInput) (*ent.Mention, error) {
	db, t, err := writing(ctx, textHead, in.TextID, "input.textId")
	if err != nil {
		return nil, err
	}
	e, err := loadEntity(ctx, db, in.EntityID, "input.entityId")
	if err != nil {
		return nil, err
	}
	switch {
	case e.ProjectID != t.ProjectID:
		return nil, apperr.Input(ReasonCrossProject, "input.entityId", "the entity belongs to another project than the text")
	case in.Start < 0:
		return nil, apperr.Input(ReasonSpanInvalid, "input.start", "start must not be negative")
	case in.End <= in.Start:
		return nil, apperr.Input(ReasonSpanInvalid, "input.end", "end must be after start")
	case in.End > t.Length:
		return nil, apperr.Input(ReasonSpanOutOfRange, "input.end", "end is beyond the text's %d characters", t.Length)
	}
	if err := s.budget.Spend(ctx, ratelimit.Entities, 1); err != nil {
		return nil, err
	}
	taken, err := db.Mention.Query().Where(mention.TextID(t.ID), mention.EntityID(e.ID),
		mention.Start(in.Start), mention.End(in.End)).Exist(ctx)
	if err != nil {
		return nil, err
	}
	if taken {
		return nil, conflict(ReasonMentionTaken, "input", "this span already mentions this entity")
	}
	m, err := db.Mention.Create().SetTextID(t.ID).SetEntityID(e.ID).SetStart(in.Start).SetEnd(in.End).
		SetCreatorID(viewer.UserID(ctx)).Save(ctx)
	if err != nil {
		return nil, saved(err, "add mention", ReasonReadOnlyRole, ReasonMentionTaken, "input")
	}
	return m, s.log.Append(ctx, record(ctx, t.ProjectID, KindMentionCreated, m.ID, nil))
}

// DeleteMention deletes a mention.
func (s *Service) DeleteMention(ctx context.Context, id int) (int, error) {
	db, err := writer(ctx)
	if err != nil {
		return 0, err
	}
	m, err := db.Mention.Query().Where(mention.ID(id)).
		WithText(func(q *ent.TextQuery) { q.Select(text.FieldID, text.FieldProjectID) }).Only(ctx)
	if err != nil {
		return 0, found(err, "mention", "id")
	}
	if err := db.Mention.DeleteOneID(m.ID).Exec(ctx); err != nil {
		return 0, denied(err, ReasonReadOnlyRole, "delete mention")
	}
	return m.ID, s.log.Append(ctx, record(ctx, m.Edges.Text.ProjectID, KindMentionDeleted, m.ID, nil))
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
