package annotation

import (
	"context"
	"fmt"

	"github.com/parley-im/parley/ent/project"
	"github.com/parley-im/parley/ent/projectmember"
	"github.com/parley-im/parley/ent/viewer"
)

// Depart lets the viewer go from every project before his account is
// deleted: the projects he owns are deleted through DeleteProject, and he
// leaves the others through LeaveProject, so that members and invitees get
// the events and notices they would get otherwise (project.deleted, the
// pending invites cancelled, project_member.deleted).
func (s *Service) Depart(ctx context.Context) error {
	db, err := writer(ctx)
	if err != nil {
		return err
	}
	me := viewer.UserID(ctx)
	owned, err := db.Project.Query().Where(project.OwnerID(me)).IDs(ctx)
	if err != nil {
		return fmt.Errorf("annotation: depart: %w", err)
	}
	for _, id := range owned {
		if _, err := s.DeleteProject(ctx, id); err != nil {
			return err
		}
	}
	joined, err := db.ProjectMember.Query().Where(projectmember.UserID(me)).
		Select(projectmember.FieldProjectID).Ints(ctx)
	if err != nil {
		return fmt.Errorf("annotation: depart: %w", err)
	}
	for _, id := range joined {
		if _, err := s.LeaveProject(ctx, id); err != nil {
			return err
		}
	}
	return nil
}
