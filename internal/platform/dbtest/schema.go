package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"testing"

	_ "github.com/lib/pq" // PostgreSQL
)

// Schema creates a schema in the database of base, drops it when t ends, and
// returns base with a search_path that selects it. base must be a
// postgres:// URL.
func Schema(t testing.TB, base string) string {
	t.Helper()
	name, u, err := NewSchema(context.Background(), base, "t")
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	t.Cleanup(func() { DropSchema(base, name) })
	return u
}

// NewSchema creates the schema prefix_<random> in the database of base and
// returns its name and base with a search_path that selects it. It serves
// what is not a test too (the load tool's scratch schema); the caller
// drops the schema (DropSchema).
func NewSchema(ctx context.Context, base, prefix string) (name, schemaURL string, err error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", "", err
	}
	db, err := sql.Open("postgres", base)
	if err != nil {
		return "", "", err
	}
	defer db.Close()
	b := make([]byte, 6)
	rand.Read(b)
	name = prefix + "_" + hex.EncodeToString(b)
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+name); err != nil {
		return "", "", fmt.Errorf("create schema on %s: %w", u.Redacted(), err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return name, u.String(), nil
}

// DropSchema drops the schema name and everything in it from the database
// of base.
func DropSchema(base, name string) error {
	db, err := sql.Open("postgres", base)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.Exec("DROP SCHEMA " + name + " CASCADE")
	return err
}

// Database creates a database of its own next to base's, drops it when t
// ends, and returns base naming it. A test needs one rather than a schema
// when it shares what is per database, not per schema: NOTIFY channels.
func Database(t testing.TB, base string) string {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("postgres", base)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	b := make([]byte, 6)
	rand.Read(b)
	name := "t_" + hex.EncodeToString(b)
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("dbtest: create database on %s: %v", u.Redacted(), err)
	}
	t.Cleanup(func() {
		if db, err := sql.Open("postgres", base); err == nil {
			db.Exec("DROP DATABASE " + name + " WITH (FORCE)")
			db.Close()
		}
	})
	u.Path = "/" + name
	return u.String()
}
