package annotation

import (
	"context"
	"fmt"

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
	// The owner is a member of each of his projects, and cannot stop being
	// one, so his memberships name them all.
	joined, err := db.ProjectMember.Query().Where(projectmember.UserID(me)).QueryProject().All(ctx)
	if err != nil {
		return fmt.Errorf("annotation: depart: %w", err)
	}
	for _, p := range joined {
		if p.OwnerID == me {
			_, err = s.DeleteProject(ctx, p.ID)
		} else {
			_, err = s.LeaveProject(ctx, p.ID)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
