package annotation

import (
	"context"
	"fmt"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/entity"
	"github.com/parley-im/parley/ent/project"
	"github.com/parley-im/parley/ent/relationtype"
	"github.com/parley-im/parley/internal/platform/apperr"
)

// naming is the rule of a kind of row whose name is unique among its
// siblings, compared by NameKey: a project's among its owner's projects,
// an entity's and a relation type's among its project's. Creating and
// renaming one both check the name with free; rename is the whole rename.
type naming[T any] struct {
	what    string // "entity": in operations' names
	max     int    // the longest name, in characters
	taken   string // the CONFLICT reason of a name already used
	message string // its message, of the name
	deny    string // the FORBIDDEN reason of a viewer who may not rename
	renamed string // the event kind of a rename
	load    func(ctx context.Context, db *ent.Client, id int, field string) (T, error)
	// of gives a row's siblings' scope (its owner or its project), its
	// project and its id.
	of func(row T) (scope, projectID, id int)
	// exists reports whether a row of scope other than except has key.
	exists func(ctx context.Context, db *ent.Client, scope, except int, key string) (bool, error)
	// set writes a row's name and key.
	set func(ctx context.Context, db *ent.Client, id int, name, key string) (T, error)
}

// The owner is a member of each of his projects, so the viewer sees them
// all when he is the owner, and only the ones he shares otherwise (the
// policy refuses his write anyway).
var projectNaming = naming[*ent.Project]{
	what: "project", max: ProjectNameMax, deny: ReasonOwnerOnly, renamed: KindProjectRenamed,
	taken: ReasonProjectNameTaken, message: "you already have a project named %q",
	load: memberProject,
	of:   func(p *ent.Project) (int, int, int) { return p.OwnerID, p.ID, p.ID },
	exists: func(ctx context.Context, db *ent.Client, owner, except int, key string) (bool, error) {
		return db.Project.Query().Where(project.OwnerID(owner), project.NameKey(key), project.IDNEQ(except)).Exist(ctx)
	},
	set: func(ctx context.Context, db *ent.Client, id int, name, key string) (*ent.Project, error) {
		return db.Project.UpdateOneID(id).SetName(name).SetNameKey(key).Save(ctx)
	},
}

// A change of case only is a rename of the entity to itself, allowed.
var entityNaming = naming[*ent.Entity]{
	what: "entity", max: EntityNameMax, deny: ReasonReadOnlyRole, renamed: KindEntityRenamed,
	taken: ReasonEntityNameTaken, message: "the project already has an entity named %q",
	load: loadEntity,
	of:   func(e *ent.Entity) (int, int, int) { return e.ProjectID, e.ProjectID, e.ID },
	exists: func(ctx context.Context, db *ent.Client, projectID, except int, key string) (bool, error) {
		return db.Entity.Query().Where(entity.ProjectID(projectID), entity.NameKey(key), entity.IDNEQ(except)).Exist(ctx)
	},
	set: func(ctx context.Context, db *ent.Client, id int, name, key string) (*ent.Entity, error) {
		return db.Entity.UpdateOneID(id).SetName(name).SetNameKey(key).Save(ctx)
	},
}

var relationTypeNaming = naming[*ent.RelationType]{
	what: "relation type", max: RelationTypeNameMax, deny: ReasonReadOnlyRole, renamed: KindRelationTypeRenamed,
	taken: ReasonRelationTypeNameTaken, message: "the project already has a relation type named %q",
	load: loadRelationType,
	of:   func(rt *ent.RelationType) (int, int, int) { return rt.ProjectID, rt.ProjectID, rt.ID },
	exists: func(ctx context.Context, db *ent.Client, projectID, except int, key string) (bool, error) {
		return db.RelationType.Query().
			Where(relationtype.ProjectID(projectID), relationtype.NameKey(key), relationtype.IDNEQ(except)).Exist(ctx)
	},
	set: func(ctx context.Context, db *ent.Client, id int, name, key string) (*ent.RelationType, error) {
		return db.RelationType.UpdateOneID(id).SetName(name).SetNameKey(key).Save(ctx)
	},
}

// free checks that no row of scope but except is named like name.
func (n naming[T]) free(ctx context.Context, db *ent.Client, scope, except int, name, field string) error {
	taken, err := n.exists(ctx, db, scope, except, NameKey(name))
	switch {
	case err != nil:
		return fmt.Errorf("annotation: %s name: %w", n.what, err)
	case taken:
		return conflict(n.taken, field, n.message, apperr.Clip(name))
	}
	return nil
}

// rename renames the row id: the name cleaned and bounded, free among the
// row's siblings, written with its key, and the rename told on the
// project's topic.
func (n naming[T]) rename(ctx context.Context, s *Service, id int, name string) (T, error) {
	var zero T
	db, row, err := writing(ctx, n.load, id, "id")
	if err != nil {
		return zero, err
	}
	if name, err = cleanName(name, "name", n.max); err != nil {
		return zero, err
	}
	scope, projectID, rowID := n.of(row)
	if err := n.free(ctx, db, scope, rowID, name, "name"); err != nil {
		return zero, err
	}
	if row, err = n.set(ctx, db, rowID, name, NameKey(name)); err != nil {
		return zero, saved(err, "rename "+n.what, n.deny, n.taken, "name")
	}
	return row, s.log.Append(ctx, record(ctx, projectID, n.renamed, rowID, nil))
}

// RenameProject renames a project (its owner).
func (s *Service) RenameProject(ctx context.Context, id int, name string) (*ent.Project, error) {
	return projectNaming.rename(ctx, s, id, name)
}

// RenameEntity renames an entity.
func (s *Service) RenameEntity(ctx context.Context, id int, name string) (*ent.Entity, error) {
	return entityNaming.rename(ctx, s, id, name)
}

// RenameRelationType renames a relation type.
func (s *Service) RenameRelationType(ctx context.Context, id int, name string) (*ent.RelationType, error) {
	return relationTypeNaming.rename(ctx, s, id, name)
}
