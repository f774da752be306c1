package app

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/parley-im/parley/internal/platform/realtime"
)

// openBus opens the bus that wakes the hubs of every instance when the
// event log grows: NATS when BusURL names it, else PostgreSQL's
// LISTEN/NOTIFY on PostgreSQL, else (one instance on SQLite) an
// in-process bus. notify is the NOTIFY channel when the bus is PostgreSQL's,
// for writers that notify inside their transaction; else empty.
func openBus(ctx context.Context, cfg Config, db *sql.DB, postgres bool, log *slog.Logger) (bus realtime.Bus, notify string, err error) {
	channel := "parley_events"
	switch {
	case postgres:
		if channel, err = busChannel(ctx, db); err != nil {
			return nil, "", err
		}
	case cfg.BusURL != "":
		// Instances on SQLite share a data directory, or nothing.
		dir, err := filepath.Abs(cfg.DataDir)
		if err != nil {
			return nil, "", fmt.Errorf("app: data directory: %w", err)
		}
		sum := sha256.Sum256([]byte(dir))
		channel += "_" + hex.EncodeToString(sum[:8])
	}
	switch {
	case cfg.BusURL != "":
		if !strings.HasPrefix(cfg.BusURL, "nats://") && !strings.HasPrefix(cfg.BusURL, "tls://") {
			return nil, "", fmt.Errorf("app: bus URL %q: only nats:// and tls:// (NATS) are supported", cfg.BusURL)
		}
		bus, err = realtime.NewNATSBus(cfg.BusURL, "parley."+channel, log)
		return bus, "", err
	case postgres:
		bus, err = realtime.NewPGBus(db, cfg.DatabaseURL, channel, log)
		return bus, channel, err
	}
	return realtime.NewLocalBus(), "", nil // only here: an unused one would leak its pump goroutine
}

// busChannel names the bus channel (NOTIFY channel, NATS subject) of this
// deployment on PostgreSQL. Channels are shared by a whole database (and a
// NATS server by every deployment using it), so a deployment in its own
// schema (tests run one per schema) gets its own channel; otherwise
// ephemeral events such as typing and presence would reach the subscribers
// of another deployment.
func busChannel(ctx context.Context, db *sql.DB) (string, error) {
	var schema string
	if err := db.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return "", fmt.Errorf("app: current schema: %w", err)
	}
	if schema == "" || schema == "public" {
		return "parley_events", nil
	}
	name := "parley_events_" + strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' {
			return r
		}
		return '_'
	}, strings.ToLower(schema))
	if len(name) > 63 {
		name = name[:63]
	}
	return name, nil
}
