// Package database opens Parley's database, PostgreSQL or embedded SQLite,
// tuned as the server needs it, and migrates its schema. The server, its
// admin subcommand and the tests open it the same way.
package database

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	entdialect "entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	_ "github.com/lib/pq" // PostgreSQL, the production database
	"modernc.org/sqlite"

	"github.com/parley-im/parley/ent"
	_ "github.com/parley-im/parley/ent/runtime" // policies and defaults
	"github.com/parley-im/parley/internal/platform/fulltext"
)

func init() {
	// ent's SQLite dialect is named "sqlite3"; modernc's pure-Go driver
	// registers as "sqlite", so it is registered under ent's name too.
	sql.Register("sqlite3", &sqlite.Driver{})
}

// migrateMu serialises migrations within a process: ent's migration writes
// to package-level table descriptors, so two Apps in one process (tests, or
// an embedding program) must not migrate at once.
var migrateMu sync.Mutex

// migrateLock is the first key of the PostgreSQL advisory lock that
// migrations hold; the second is the hash of the schema migrated, so that
// deployments in other schemas of the database (tests) do not wait.
const migrateLock = 0x7061726c // "parl"

// migrate brings the schema up to date. On PostgreSQL it holds an advisory
// lock meanwhile, on a connection of its own: instances that start together
// on an empty database would otherwise create the same tables at once, and
// all but one fail (a duplicate key in pg_type). The others wait, then find
// the tables made. The lock is a session lock, released when the migration
// ends; a connection that cannot release it is discarded, which releases it.
func migrate(ctx context.Context, client *ent.Client, db *sql.DB, postgres bool) error {
	migrateMu.Lock()
	defer migrateMu.Unlock()
	if postgres {
		conn, err := db.Conn(ctx)
		if err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1, hashtext(current_schema()))", migrateLock); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		defer func() {
			_, err := conn.ExecContext(context.Background(), "SELECT pg_advisory_unlock($1, hashtext(current_schema()))", migrateLock)
			if err != nil {
				conn.Raw(func(any) error { return driver.ErrBadConn })
			}
		}()
	}
	if err := client.Schema.Create(ctx); err != nil {
		return err
	}
	// The full-text index is raw SQL (a tsvector with a GIN index, an FTS5
	// table) that ent does not migrate.
	return fulltext.Migrate(ctx, db, postgres)
}

// oneRoundTrip turns on lib/pq's binary_parameters mode unless the URL sets
// it: lib/pq then sends a query with arguments as one Parse/Bind/Execute
// batch, one round trip, instead of preparing it first and executing it
// after (two). Nearly every statement ent sends has arguments, so this
// halves the server's waits on the database (docs/PERFORMANCE.md).
func oneRoundTrip(url string) string {
	if strings.Contains(url, "binary_parameters=") {
		return url
	}
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	return url + sep + "binary_parameters=yes"
}

// DB is an open, migrated database.
type DB struct {
	Client   *ent.Client
	SQL      *sql.DB // the pool under Client, for pings and LISTEN/NOTIFY
	Postgres bool
}

// DefaultMaxConns is the PostgreSQL pool's size unless the caller sets
// another with SetMaxConns.
const DefaultMaxConns = 40

// SetMaxConns sizes db's pool: at most n connections, all of them kept while
// idle (see Open for why idle ones are kept).
func SetMaxConns(db *sql.DB, n int) {
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
}

// Open opens and migrates the database: PostgreSQL when url is a
// postgres:// or postgresql:// URL, embedded SQLite under dataDir when url
// is empty; anything else is refused. trace, when set, sees every
// statement. Closing the client closes the database.
func Open(ctx context.Context, url, dataDir string, trace func(context.Context, ...any)) (*DB, error) {
	dialect, driver, dsn := "postgres", "postgres", url
	if !strings.HasPrefix(url, "postgres://") && !strings.HasPrefix(url, "postgresql://") {
		if url != "" {
			return nil, fmt.Errorf("database: DATABASE_URL must be a postgres:// URL, got %q", url)
		}
		if err := os.MkdirAll(dataDir, 0o755); err != nil {
			return nil, fmt.Errorf("database: data dir: %w", err)
		}
		dialect, driver = "sqlite3", "sqlite3"
		// Times are written in SQLite's own sortable form, in UTC: the
		// driver's default (time.Time.String) keeps Go's monotonic clock
		// reading, so a stored time compares greater than the same instant
		// read back, and keyset pages (cursors on created_at) repeat rows.
		dsn = "file:" + filepath.Join(dataDir, "parley.db") +
			"?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)&_txlock=immediate" +
			"&_time_format=sqlite&_timezone=UTC"
	}
	if dialect == "postgres" {
		dsn = oneRoundTrip(dsn)
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("database: open database: %w", err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("database: reach database: %w", err)
	}
	if dialect == "postgres" {
		// As many idle connections as open ones: with fewer, a burst (a
		// group message reloaded by each member's stream) closes and reopens
		// connections every time, and a fresh backend plans the privacy
		// filters' subqueries from cold caches. Measured: a 50-member
		// fan-out went from 612 to 51 ms (docs/PERFORMANCE.md). Connections
		// idle for a minute are still released.
		SetMaxConns(db, DefaultMaxConns)
		db.SetConnMaxIdleTime(time.Minute)
	}
	var drv entdialect.Driver = entsql.OpenDB(dialect, db)
	if trace != nil {
		drv = entdialect.DebugWithContext(drv, trace)
	}
	client := ent.NewClient(ent.Driver(drv))
	if err := migrate(ctx, client, db, dialect == "postgres"); err != nil {
		client.Close()
		return nil, fmt.Errorf("database: migrate: %w", err)
	}
	return &DB{Client: client, SQL: db, Postgres: dialect == "postgres"}, nil
}
