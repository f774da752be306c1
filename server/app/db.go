package app

import (
	"context"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/internal/platform/database"
	"github.com/parley-im/parley/internal/platform/eventlog"
)

// OpenDatabase opens the database cfg names (DatabaseURL, else SQLite under
// DataDir) and migrates it exactly as New does, for programs that work on
// the data without serving it, such as the server's admin subcommand.
// Closing the client closes the database. The event log it returns appends
// as the server's does; the running servers' hubs find its events when they
// next poll.
func OpenDatabase(ctx context.Context, cfg Config) (*ent.Client, *eventlog.Log, error) {
	db, err := database.Open(ctx, cfg.DatabaseURL, cfg.DataDir, cfg.TraceSQL)
	if err != nil {
		return nil, nil, err
	}
	return db.Client, eventlog.New(db.Client, db.Postgres, nil), nil
}
