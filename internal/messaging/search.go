package messaging

// This file is message search: the query (Search) and keeping the
// full-text index in step with every write of a message's content
// (IndexHook, Reindex). The tokens, the index tables and the matching SQL
// are internal/platform/fulltext's. Who sees a found message is not decided
// here: the query goes through the Message policy like every other read
// (rule.VisibleMessage: floor, cleared history, deleted for me), and keeps
// only what Shown keeps (not revoked, not deleted for everyone).

import (
	"context"
	"fmt"
	"strings"

	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/conversation"
	"github.com/parley-im/parley/ent/hook"
	"github.com/parley-im/parley/ent/message"
	"github.com/parley-im/parley/ent/rule"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/platform/apperr"
	"github.com/parley-im/parley/internal/platform/fulltext"
)

// Page sizes of a search.
const (
	SearchFirstDefault = 20
	SearchFirstMax     = 50
)

// Reasons of search input.
const (
	ReasonFirstTooLarge = "FIRST_TOO_LARGE"
)

// Ranks of a match: the query's words as a phrase (in order, adjacent)
// rank above the same words anywhere in the message.
const (
	rankWords  = 1
	rankPhrase = 2
)

// SearchEdge is one found message, with its highlighted snippet
// (fulltext.Snippet) and its cursor.
type SearchEdge struct {
	Node    *ent.Message
	Snippet string
	Cursor  ent.Cursor
}

// SearchConnection is a page of found messages, best first.
type SearchConnection struct {
	Edges    []*SearchEdge
	PageInfo ent.PageInfo
}

// searchRank is the name of the rank column a search selects.
const searchRank = "search_rank"

// Search finds the messages the viewer sees whose text holds every word of
// query (Chinese by any two adjacent characters, English words by their
// stems), in the conversations he is an active member of, or in
// conversationID alone (any he may read, a public room too; one he may not
// is NOT_FOUND, as for its history). Phrase matches come first, then the
// newest; the cursor is (rank, id), which no later write moves, so pages
// neither repeat nor skip a message.
func (s *Service) Search(ctx context.Context, query string, conversationID *int, first *int, after *ent.Cursor) (*SearchConnection, error) {
	me, err := signedIn(ctx)
	if err != nil {
		return nil, err
	}
	q, n, err := searchInput(query, first)
	if err != nil {
		return nil, err
	}
	rank, cursorID := rankPhrase+1, 0
	if after != nil {
		if rank, err = cursorRank(after); err != nil {
			return nil, err
		}
		cursorID = after.ID
	}
	if conversationID != nil {
		if err := s.Watching(ctx, *conversationID); err != nil {
			return nil, err
		}
	}
	build := func(db *ent.Client) *ent.MessageQuery {
		mq := db.Message.Query().Where(Shown())
		if conversationID != nil {
			mq.Where(message.ConversationID(*conversationID))
		} else {
			mq.Where(message.HasConversationWith(conversation.HasMembersWith(rule.ActiveConversationMember(me))))
		}
		ranked := len(q.Terms) > 1
		id := func(s *sql.Selector) string { return s.C(message.FieldID) }
		postgres := func(s *sql.Selector) bool { return s.Dialect() == dialect.Postgres }
		mq.Where(func(s *sql.Selector) {
			s.Where(fulltext.Matches(postgres(s), q, id(s)))
			if after == nil {
				return
			}
			older := sql.LT(id(s), cursorID)
			switch {
			case !ranked || rank == rankWords:
				if ranked {
					s.Where(sql.Not(fulltext.Phrase(postgres(s), q, id(s))))
				}
				s.Where(older)
			case rank == rankPhrase:
				s.Where(sql.Or(sql.Not(fulltext.Phrase(postgres(s), q, id(s))), older))
			}
		})
		mq.Modify(func(s *sql.Selector) {
			if !ranked {
				s.AppendSelectExprAs(sql.Expr(fmt.Sprint(rankPhrase)), searchRank)
			} else {
				s.AppendSelectExprAs(sql.ExprFunc(func(b *sql.Builder) {
					b.WriteString("CASE WHEN ").Join(fulltext.Phrase(postgres(s), q, id(s))).
						WriteString(fmt.Sprintf(" THEN %d ELSE %d END", rankPhrase, rankWords))
				}), searchRank)
				s.OrderExpr(sql.Expr(searchRank + " DESC"))
			}
			s.OrderBy(sql.Desc(id(s)))
		})
		return mq.Limit(n + 1)
	}
	msgs, err := s.searchRead(ctx, build)
	if err != nil {
		return nil, err
	}
	c := &SearchConnection{}
	c.PageInfo.HasPreviousPage = after != nil
	if len(msgs) > n {
		msgs, c.PageInfo.HasNextPage = msgs[:n], true
	}
	for _, m := range msgs {
		r, err := m.Value(searchRank)
		if err != nil {
			return nil, fmt.Errorf("messaging: search rank: %w", err)
		}
		rank, err := rankOf(r)
		if err != nil {
			return nil, err
		}
		c.Edges = append(c.Edges, &SearchEdge{
			Node: m, Snippet: fulltext.Snippet(Text(m), q), Cursor: ent.Cursor{ID: m.ID, Value: rank},
		})
	}
	if len(c.Edges) > 0 {
		c.PageInfo.StartCursor = &c.Edges[0].Cursor
		c.PageInfo.EndCursor = &c.Edges[len(c.Edges)-1].Cursor
	}
	return c, nil
}

// searchRead runs a search's query. On PostgreSQL it runs in a read
// transaction of its own with JIT compilation off: the planner's estimate
// of the privacy filters' subqueries is far above jit_above_cost, and
// compiling the plan took a second where running it took milliseconds
// (docs/PERFORMANCE.md).
func (s *Service) searchRead(ctx context.Context, query func(*ent.Client) *ent.MessageQuery) ([]*ent.Message, error) {
	if !s.log.Postgres() || ent.FromContext(ctx) != nil {
		msgs, err := query(s.reader(ctx)).All(ctx)
		if err != nil {
			return nil, fmt.Errorf("messaging: search: %w", err)
		}
		return msgs, nil
	}
	tx, err := s.client.Tx(ctx)
	if err != nil {
		return nil, fmt.Errorf("messaging: search: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "SET LOCAL jit = off"); err != nil {
		return nil, fmt.Errorf("messaging: search: %w", err)
	}
	msgs, err := query(tx.Client()).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("messaging: search: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("messaging: search: %w", err)
	}
	// The messages' edges (sender, quote, conversation) load after the
	// transaction, through the root client.
	for i, m := range msgs {
		msgs[i] = m.Unwrap()
	}
	return msgs, nil
}

// searchInput checks a search's query and page size.
func searchInput(query string, first *int) (fulltext.Query, int, error) {
	n := SearchFirstDefault
	switch {
	case first != nil && *first < 0:
		return fulltext.Query{}, 0, apperr.Input(apperr.ReasonInvalid, "first", "first must not be negative")
	case first != nil && *first > SearchFirstMax:
		return fulltext.Query{}, 0, apperr.Input(ReasonFirstTooLarge, "first", "first must be at most %d", SearchFirstMax)
	case first != nil:
		n = *first
	}
	if strings.TrimSpace(query) == "" {
		return fulltext.Query{}, 0, apperr.Input(apperr.ReasonRequired, "query", "the query is empty")
	}
	if fulltext.Len(query) > fulltext.QueryMax {
		return fulltext.Query{}, 0, apperr.Input(apperr.ReasonTooLong, "query", "the query must be at most %d characters", fulltext.QueryMax)
	}
	q := fulltext.Parse(query)
	switch {
	case len(q.Terms) == 0:
		return q, 0, apperr.Input(apperr.ReasonInvalid, "query", "the query has no letters, digits or characters to search by")
	case len(q.Terms) > fulltext.TermsMax:
		return q, 0, apperr.Input(apperr.ReasonTooLong, "query", "the query has more than %d words", fulltext.TermsMax)
	}
	return q, n, nil
}

// cursorRank reads the rank of a search cursor; a cursor of another list
// carries none.
func cursorRank(c *ent.Cursor) (int, error) {
	r, err := rankOf(c.Value)
	if err != nil || c.ID <= 0 {
		return 0, apperr.Input(apperr.ReasonCursorUnknown, "after", "after is not a cursor of this search")
	}
	return r, nil
}

// rankOf reads a rank as the database or a decoded cursor gives it.
func rankOf(v any) (int, error) {
	var r int64
	switch v := v.(type) {
	case int64:
		r = v
	case int:
		r = int64(v)
	case int8:
		r = int64(v)
	case int32:
		r = int64(v)
	case uint8:
		r = int64(v)
	case uint64:
		r = int64(v)
	case float64:
		r = int64(v)
	default:
		return 0, fmt.Errorf("messaging: search rank of type %T", v)
	}
	if r != rankWords && r != rankPhrase {
		return 0, fmt.Errorf("messaging: search rank %d", r)
	}
	return int(r), nil
}

// IndexHook keeps the full-text index in step with every write of a
// message's content, whichever path makes it (send, a system message,
// revoke, delete for everyone, erasing a departed account's messages, an
// edit): it runs in the write's transaction, after the message is stored,
// so the index commits or rolls back with it, and it indexes the stored
// (masked) text. Hiding a message for oneself changes no content and no
// index: the Message policy leaves it out of that viewer's results.
func IndexHook(postgres bool) ent.Hook {
	return hook.On(func(next ent.Mutator) ent.Mutator {
		return hook.MessageFunc(func(ctx context.Context, m *ent.MessageMutation) (ent.Value, error) {
			_, parts := m.Parts()
			_, revoked := m.RevokedAt()
			_, deleted := m.DeletedAt()
			if !m.Op().Is(ent.OpCreate) && !parts && !revoked && !deleted {
				return next.Mutate(ctx, m)
			}
			var ids []int
			if m.Op().Is(ent.OpUpdate) {
				var err error
				if ids, err = m.IDs(viewer.SystemContext(ctx)); err != nil {
					return nil, fmt.Errorf("messaging: index: %w", err)
				}
			}
			v, err := next.Mutate(ctx, m)
			if err != nil {
				return v, err
			}
			msg, ok := v.(*ent.Message)
			switch {
			case ok && m.Op().Is(ent.OpCreate):
				return v, fulltext.Add(ctx, m.Client(), postgres, msg.ID, Text(msg))
			case ok:
				return v, Reindex(ctx, m.Client(), postgres, msg)
			}
			return v, reindexIDs(ctx, m.Client(), postgres, ids)
		})
	}, ent.OpCreate|ent.OpUpdateOne|ent.OpUpdate)
}

// Reindex writes m's current text (Text: nothing once revoked or deleted)
// into the full-text index in place of what was indexed for it, through db
// (the writer's transaction). IndexHook calls it on every content write
// that goes through ent; a path that changes a message's content otherwise
// calls it itself.
func Reindex(ctx context.Context, db *ent.Client, postgres bool, m *ent.Message) error {
	return fulltext.Write(ctx, db, postgres, m.ID, Text(m))
}

// reindexIDs reindexes messages changed by a bulk update: those left with
// no text leave the index.
func reindexIDs(ctx context.Context, db *ent.Client, postgres bool, ids []int) error {
	if len(ids) == 0 {
		return nil
	}
	msgs, err := db.Message.Query().Where(message.IDIn(ids...)).All(viewer.SystemContext(ctx))
	if err != nil {
		return fmt.Errorf("messaging: index: %w", err)
	}
	var gone []int
	for _, m := range msgs {
		if Text(m) == "" {
			gone = append(gone, m.ID)
		} else if err := Reindex(ctx, db, postgres, m); err != nil {
			return err
		}
	}
	return fulltext.Remove(ctx, db, postgres, gone)
}
