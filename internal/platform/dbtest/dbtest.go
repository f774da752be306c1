// Package dbtest gives every test a database of its own, on each backend
// Parley runs on: embedded SQLite always, and PostgreSQL too when
// TEST_DATABASE_URL is set (CI sets it). On PostgreSQL each test gets a
// schema of its own (Schema), so that test packages run in parallel on one
// database without seeing each other's rows.
package dbtest

import (
	"context"
	"os"
	"testing"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/platform/database"
)

// Backend is one database the tests run on.
type Backend struct {
	Name string
	base string // TEST_DATABASE_URL for PostgreSQL, empty for SQLite
}

// Postgres reports whether b is PostgreSQL.
func (b Backend) Postgres() bool { return b.base != "" }

// URL returns the database URL of a fresh, empty database on b: a new
// schema on PostgreSQL, dropped when t ends; "" on SQLite, whose database
// is a file in the data directory the caller chooses.
func (b Backend) URL(t testing.TB) string {
	if b.base == "" {
		return ""
	}
	return Schema(t, b.base)
}

// DatabaseURL is URL with a database of its own on PostgreSQL instead of a
// schema (Database), for the tests that share what PostgreSQL keeps per
// database: NOTIFY channels, whose payloads carry ids that every test's
// schema numbers alike.
func (b Backend) DatabaseURL(t testing.TB) string {
	if b.base == "" {
		return ""
	}
	return Database(t, b.base)
}

// Backends returns SQLite, and PostgreSQL when TEST_DATABASE_URL is set.
func Backends() []Backend {
	bs := []Backend{{Name: "sqlite"}}
	if base := os.Getenv("TEST_DATABASE_URL"); base != "" {
		bs = append(bs, Backend{Name: "postgres", base: base})
	}
	return bs
}

// Each runs f on every backend, as parallel subtests of a parallel test.
func Each(t *testing.T, f func(t *testing.T, b Backend)) {
	t.Parallel()
	for _, b := range Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			f(t, b)
		})
	}
}

// Open opens a fresh, migrated database on b, as the server opens its own
// (database.Open), and closes it when t ends.
func Open(t testing.TB, b Backend) *database.DB {
	t.Helper()
	db, err := database.Open(context.Background(), b.URL(t), t.TempDir(), nil)
	if err != nil {
		t.Fatalf("dbtest: open %s: %v", b.Name, err)
	}
	t.Cleanup(func() { db.Client.Close() })
	return db
}

// EachClient runs f on every backend (Each) with the client of a fresh,
// migrated database (Open) and a context acting as the system, which the
// tests seed their rows with.
func EachClient(t *testing.T, f func(t *testing.T, c *ent.Client, sys context.Context)) {
	Each(t, func(t *testing.T, b Backend) {
		f(t, Open(t, b).Client, viewer.SystemContext(context.Background()))
	})
}
