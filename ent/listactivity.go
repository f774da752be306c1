package ent

// This file is written by hand, beside the generated client: the order
// field of a conversation list, which ent cannot generate because it is an
// expression over two tables.

import (
	"context"
	"slices"
	"time"

	"entgo.io/ent/dialect/sql"

	"github.com/parley-im/parley/ent/conversationmember"
)

// ListActivityExpr is a member's last activity as his conversation list
// sorts it: the later of his row's last_activity_at (when he joined, or
// last sent or brought the conversation back) and the conversation's
// last_message_at. A message then moves the conversation up in every
// member's list without writing every member's row. It is portable SQL
// (PostgreSQL and SQLite), a correlated subquery on the conversation's
// primary key. The builder passes it through unquoted (it reads as
// qualified), so it serves as the column of ordering and cursor predicates.
const ListActivityExpr = "(SELECT CASE WHEN conversation_members.last_activity_at IS NULL" +
	" OR conversations.last_message_at > conversation_members.last_activity_at" +
	" THEN conversations.last_message_at ELSE conversation_members.last_activity_at END" +
	" FROM conversations WHERE conversations.id = conversation_members.conversation_id)"

// ListActivity is ListActivityExpr in Go, for a row whose conversation is
// at hand (messaging.LastActivities, behind the lastActivityAt field): the
// same value the list sorts on.
func ListActivity(m *ConversationMember, c *Conversation) *time.Time {
	switch {
	case c == nil || c.LastMessageAt == nil:
		return m.LastActivityAt
	case m.LastActivityAt == nil || c.LastMessageAt.After(*m.LastActivityAt):
		return c.LastMessageAt
	}
	return m.LastActivityAt
}

// ByListActivity orders members by ListActivityExpr.
func ByListActivity(opts ...sql.OrderTermOption) conversationmember.OrderOption {
	return sql.OrderByField(ListActivityExpr, opts...).ToFunc()
}

// listActivityAs is the name ListActivityExpr is selected under.
const listActivityAs = "list_activity"

// ConversationMemberOrderFieldListActivity orders a conversation list by
// ListActivityExpr. The query it pages must be WithListActivity, which
// selects the value its cursors carry.
var ConversationMemberOrderFieldListActivity = &ConversationMemberOrderField{
	Value: func(m *ConversationMember) (Value, error) {
		return m.Value(listActivityAs)
	},
	column: ListActivityExpr,
	toTerm: ByListActivity,
	toCursor: func(m *ConversationMember) Cursor {
		v, _ := m.Value(listActivityAs)
		return Cursor{ID: m.ID, Value: v}
	},
}

// WithListActivity selects ListActivityExpr with each row, for the cursors
// of ConversationMemberOrderFieldListActivity. The pager also asks for the
// expression as a selected field when a GraphQL query narrows the fields;
// ent would refuse it as an unknown column, so it is dropped from them here
// (the modifier selects it).
func (_q *ConversationMemberQuery) WithListActivity() *ConversationMemberQuery {
	_q.modifiers = append(_q.modifiers, func(s *sql.Selector) {
		s.AppendSelectExprAs(sql.Expr(ListActivityExpr), listActivityAs)
	})
	_q.inters = append(_q.inters, TraverseFunc(func(_ context.Context, q Query) error {
		if mq, ok := q.(*ConversationMemberQuery); ok {
			mq.ctx.Fields = slices.DeleteFunc(mq.ctx.Fields, func(f string) bool { return f == ListActivityExpr })
		}
		return nil
	}))
	return _q
}
