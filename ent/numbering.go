package ent

// This file is written by hand, beside the generated client: one statement
// that ent's builders make two.

import (
	"context"
	"fmt"
	"time"

	"entgo.io/ent/dialect/sql"

	"github.com/parley-im/parley/ent/conversation"
)

// NextSeq numbers the next message of conversation id and returns its seq:
// one UPDATE … RETURNING that bumps last_seq, sets last_message_at and
// updated_at to at, and locks the row until the transaction ends, so that
// concurrent senders get consecutive seqs. ent's UpdateOne would read the
// row back in a second statement. It runs no privacy rule: callers number
// as the system, after their own checks. ent.IsNotFound when there is no
// such conversation.
func (c *ConversationClient) NextSeq(ctx context.Context, id int, at time.Time) (int64, error) {
	query, args := sql.Dialect(c.driver.Dialect()).Update(conversation.Table).
		Add(conversation.FieldLastSeq, 1).
		Set(conversation.FieldLastMessageAt, at).
		Set(conversation.FieldUpdatedAt, at).
		Where(sql.EQ(conversation.FieldID, id)).
		Returning(conversation.FieldLastSeq).
		Query()
	var rows sql.Rows
	if err := c.driver.Query(ctx, query, args, &rows); err != nil {
		return 0, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return 0, err
		}
		return 0, &NotFoundError{conversation.Label}
	}
	var seq int64
	if err := rows.Scan(&seq); err != nil {
		return 0, fmt.Errorf("ent: scan last_seq: %w", err)
	}
	return seq, rows.Close()
}
