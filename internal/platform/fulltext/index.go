package fulltext

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	entsql "entgo.io/ent/dialect/sql"
)

// The index tables. ent migrates every other table; these are created
// here, after ent's migration, with statements that do nothing when they
// ran before, so every start may run them.
var (
	// postgresDDL: one row per indexed message, its tokens as a tsvector
	// built without a parser (Doc.vector), searched through a GIN index. The
	// row goes with its message (ON DELETE CASCADE).
	postgresDDL = []string{
		`CREATE TABLE IF NOT EXISTS message_search (
			message_id bigint PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
			doc tsvector NOT NULL
		)`,
		`CREATE INDEX IF NOT EXISTS message_search_doc ON message_search USING gin (doc)`,
	}
	// sqliteDDL: an FTS5 table keyed by the message's id (rowid), its main
	// tokens and its tail tokens in two columns, so a phrase never spans
	// from one into the other; unicode61 with diacritics kept splits the
	// stored tokens at spaces and leaves them as they are. A virtual table
	// takes no foreign key, so a trigger removes a deleted message's row
	// (cascades fire it too).
	sqliteDDL = []string{
		`CREATE VIRTUAL TABLE IF NOT EXISTS message_fts USING fts5(main, tail, tokenize = 'unicode61 remove_diacritics 0')`,
		`CREATE TRIGGER IF NOT EXISTS message_fts_gone AFTER DELETE ON messages BEGIN
			DELETE FROM message_fts WHERE rowid = old.id;
		END`,
	}
)

// Execer runs a statement: a *sql.DB, a connection, or ent's client or
// transaction (ent's ExecContext).
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Migrate creates the index tables if they are missing. It runs after ent's
// migration (the PostgreSQL table references messages), under the same
// lock.
func Migrate(ctx context.Context, db Execer, postgres bool) error {
	ddl := sqliteDDL
	if postgres {
		ddl = postgresDDL
	}
	for _, stmt := range ddl {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("fulltext: migrate: %w", err)
		}
	}
	return nil
}

// positionMax is the highest position a tsvector keeps.
const positionMax = 16383

// quote writes a token as a tsvector or tsquery lexeme: in single quotes,
// with quotes doubled and backslashes escaped.
func quote(b *strings.Builder, tok string) {
	b.WriteByte('\'')
	b.WriteString(strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(tok))
	b.WriteByte('\'')
}

// vector is d as a tsvector literal: main tokens at positions 1, 2, …; tail
// tokens after them two apart, so that no phrase (adjacent positions) takes
// one in, as FTS5's separate column does.
func (d Doc) vector() string {
	var b strings.Builder
	pos := func(p int) int { return min(p, positionMax) }
	for i, t := range d.Main {
		quote(&b, t)
		b.WriteString(":" + strconv.Itoa(pos(i+1)) + " ")
	}
	for i, t := range d.Tail {
		quote(&b, t)
		b.WriteString(":" + strconv.Itoa(pos(len(d.Main)+2*(i+1))) + " ")
	}
	return b.String()
}

// Write indexes a message's text in place of what was indexed for it: a
// text with nothing to index (revoked, deleted, an image) leaves no row.
// It runs in the writer's transaction, so the index commits with the
// message.
func Write(ctx context.Context, db Execer, postgres bool, id int, text string) error {
	d := Tokenize(text)
	var err error
	if postgres {
		if d.Empty() {
			_, err = db.ExecContext(ctx, `DELETE FROM message_search WHERE message_id = $1`, id)
		} else {
			_, err = db.ExecContext(ctx, `INSERT INTO message_search (message_id, doc) VALUES ($1, $2::tsvector)
				ON CONFLICT (message_id) DO UPDATE SET doc = excluded.doc`, id, d.vector())
		}
	} else {
		_, err = db.ExecContext(ctx, `DELETE FROM message_fts WHERE rowid = ?`, id)
		if err == nil && !d.Empty() {
			_, err = db.ExecContext(ctx, `INSERT INTO message_fts (rowid, main, tail) VALUES (?, ?, ?)`,
				id, strings.Join(d.Main, " "), strings.Join(d.Tail, " "))
		}
	}
	if err != nil {
		return fmt.Errorf("fulltext: index message %d: %w", id, err)
	}
	return nil
}

// Add indexes a new message's text: Write without first removing an
// earlier row, one statement on either database, none for a text with
// nothing to index.
func Add(ctx context.Context, db Execer, postgres bool, id int, text string) error {
	d := Tokenize(text)
	if d.Empty() {
		return nil
	}
	var err error
	if postgres {
		_, err = db.ExecContext(ctx, `INSERT INTO message_search (message_id, doc) VALUES ($1, $2::tsvector)`, id, d.vector())
	} else {
		_, err = db.ExecContext(ctx, `INSERT INTO message_fts (rowid, main, tail) VALUES (?, ?, ?)`,
			id, strings.Join(d.Main, " "), strings.Join(d.Tail, " "))
	}
	if err != nil {
		return fmt.Errorf("fulltext: index message %d: %w", id, err)
	}
	return nil
}

// Remove drops the index rows of messages (their content is gone).
func Remove(ctx context.Context, db Execer, postgres bool, ids []int) error {
	for len(ids) > 0 {
		n := min(len(ids), 500)
		chunk := ids[:n]
		ids = ids[n:]
		var b strings.Builder
		args := make([]any, len(chunk))
		for i, id := range chunk {
			if i > 0 {
				b.WriteByte(',')
			}
			if postgres {
				b.WriteString("$" + strconv.Itoa(i+1))
			} else {
				b.WriteByte('?')
			}
			args[i] = id
		}
		stmt := `DELETE FROM message_fts WHERE rowid IN (` + b.String() + `)`
		if postgres {
			stmt = `DELETE FROM message_search WHERE message_id IN (` + b.String() + `)`
		}
		if _, err := db.ExecContext(ctx, stmt, args...); err != nil {
			return fmt.Errorf("fulltext: unindex messages: %w", err)
		}
	}
	return nil
}

// tsquery is q as a PostgreSQL tsquery: its terms joined by op ("&" for
// all of them, "<->" for the phrase).
func (q Query) tsquery(op string) string {
	var b strings.Builder
	for i, t := range q.Terms {
		if i > 0 {
			b.WriteString(" " + op + " ")
		}
		quote(&b, t.Token)
		if t.Prefix {
			b.WriteString(":*")
		}
	}
	return b.String()
}

// fts5 is q as an FTS5 query: its terms as quoted strings joined by op
// ("AND", or "+" for the phrase).
func (q Query) fts5(op string) string {
	var b strings.Builder
	for i, t := range q.Terms {
		if i > 0 {
			b.WriteString(" " + op + " ")
		}
		b.WriteString(`"` + strings.ReplaceAll(t.Token, `"`, `""`) + `"`)
		if t.Prefix {
			b.WriteString("*")
		}
	}
	return b.String()
}

// Matches selects the rows whose id column (the messages' id) is that of a
// message holding every term of q.
func Matches(postgres bool, q Query, id string) *entsql.Predicate {
	if postgres {
		return entsql.P(func(b *entsql.Builder) {
			b.WriteString(id + " IN (SELECT message_id FROM message_search WHERE doc @@ ").Arg(q.tsquery("&")).WriteString("::tsquery)")
		})
	}
	return entsql.P(func(b *entsql.Builder) {
		b.WriteString(id + " IN (SELECT rowid FROM message_fts WHERE message_fts MATCH ").Arg(q.fts5("AND")).WriteString(")")
	})
}

// Phrase selects the rows whose id is that of a message holding q's terms
// as a phrase, in order and adjacent: the better matches. With one term it
// is Matches.
func Phrase(postgres bool, q Query, id string) *entsql.Predicate {
	if len(q.Terms) < 2 {
		return Matches(postgres, q, id)
	}
	if postgres {
		return entsql.P(func(b *entsql.Builder) {
			b.WriteString(id + " IN (SELECT message_id FROM message_search WHERE doc @@ ").Arg(q.tsquery("<->")).WriteString("::tsquery)")
		})
	}
	return entsql.P(func(b *entsql.Builder) {
		b.WriteString(id + " IN (SELECT rowid FROM message_fts WHERE message_fts MATCH ").Arg("main : " + q.fts5("+")).WriteString(")")
	})
}

// Vector is text's tsvector literal as Write stores it on PostgreSQL, for
// bulk loads that insert many rows in one statement (the load tool's
// search scenario); empty when the text has nothing to index.
func Vector(text string) string {
	d := Tokenize(text)
	if d.Empty() {
		return ""
	}
	return d.vector()
}
