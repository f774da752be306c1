package auth

import (
	"context"
	"fmt"
	"strings"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/user"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/platform/apperr"
	"github.com/parley-im/parley/internal/platform/eventlog"
	"github.com/parley-im/parley/internal/platform/txn"
)

// SetRole makes the user named username (compared case-insensitively, as
// sign-in does) an admin when admin is true and an ordinary user otherwise,
// and reports whether his role changed. It is the one place a role
// changes: no GraphQL operation grants it, and the server's admin
// subcommand calls this, so that the first admin can be made without SQL.
//
// It runs as the system viewer, in one transaction (graph/txn), which also
// appends a user.role_changed event to events: every server instance's live
// connections of that user act with the new role from then on (live.go),
// as soon as its hub passes the event, and so do their requests over HTTP
// (the session cache forgets his sessions then, sessioncache.go); the
// session caches of this process forget them at once, on commit. A deleted
// account is no user (NOT_FOUND).
func SetRole(ctx context.Context, client *ent.Client, events *eventlog.Log, username string, admin bool) (*ent.User, bool, error) {
	role := user.RoleUser
	if admin {
		role = user.RoleAdmin
	}
	name := strings.TrimSpace(username)
	var (
		u       *ent.User
		changed bool
	)
	err := txn.Run(viewer.SystemContext(ctx), client, func(ctx context.Context) error {
		db := ent.FromContext(ctx)
		var err error
		u, err = db.User.Query().
			Where(user.UsernameEqualFold(name), user.AccountStateNEQ(user.AccountStateDeleted)).
			Only(ctx)
		switch {
		case ent.IsNotFound(err):
			return apperr.New(apperr.NotFound, apperr.ReasonNotFound, "username", "no user named %q", apperr.Clip(name))
		case err != nil:
			return fmt.Errorf("auth: find user: %w", err)
		case u.Role == role:
			return nil
		}
		if u, err = u.Update().SetRole(role).Save(ctx); err != nil {
			return fmt.Errorf("auth: set role: %w", err)
		}
		changed = true
		change := SessionChange{User: u.ID, Admin: &admin}
		ent.TxFromContext(ctx).OnCommit(func(next ent.Committer) ent.Committer {
			return ent.CommitFunc(func(ctx context.Context, tx *ent.Tx) error {
				if err := next.Commit(ctx, tx); err != nil {
					return err
				}
				dropEverywhere(change)
				return nil
			})
		})
		return events.Append(ctx, eventlog.Record{
			Topic: SessionsTopic, Kind: KindRoleChanged, Subject: u.ID, Data: change,
		})
	})
	if err != nil {
		return nil, false, err
	}
	return u, changed, nil
}

// Admins lists the accounts that are admins, by username, read as the
// system (the admin subcommand's list).
func Admins(ctx context.Context, client *ent.Client) ([]*ent.User, error) {
	us, err := client.User.Query().
		Where(user.RoleEQ(user.RoleAdmin), user.AccountStateNEQ(user.AccountStateDeleted)).
		Order(ent.Asc(user.FieldUsername)).
		All(viewer.SystemContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("auth: list admins: %w", err)
	}
	return us, nil
}
