package messaging

// This file is receipts: who read and who received a message, computed from
// the members' positions (conversation_members.read_seq and delivered_seq),
// never from a row per reader per message. A member has read a message when
// his read position reached its seq and he sees it: an active member whose
// visibility floor (cleared_seq, ent/rule/visibility.go) is below it, so
// that one who joined a group after a message, or cleared his history past
// it, is not counted, and one who left no longer is. The sender is never
// counted among the readers of his message. Rooms keep no receipts: they are
// public and their readers need not be members.
//
// Counts are kept for every group; the list of who read (ReadBy) only for
// groups of at most Options.ReadReceiptsMaxMembers active members, as
// Sendbird keeps only counts for its supergroups: a list of hundreds of
// names tells a sender little, and it would show every reader's activity to
// every member of a big group.

import (
	"context"
	"fmt"

	"entgo.io/contrib/entgql"
	"entgo.io/ent/dialect/sql"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/conversation"
	"github.com/parley-im/parley/ent/conversationmember"
	"github.com/parley-im/parley/ent/message"
	"github.com/parley-im/parley/ent/rule"
	"github.com/parley-im/parley/internal/platform/apperr"
)

// Receipt limits and reasons.
const (
	// DefaultReadReceiptsMaxMembers is the largest group whose readers are
	// listed (ReadBy) unless configured: a "Seen by" list is read at a
	// glance, which a hundred names still allow.
	DefaultReadReceiptsMaxMembers = 100
	// ReasonReceiptsCountOnly: the group is above the threshold; only its
	// readCount is kept.
	ReasonReceiptsCountOnly = "READ_RECEIPTS_COUNT_ONLY"
	readByDefault           = 20
	readByMax               = 100
)

// Receipt is what the members' positions say about one message, as its
// viewer may know it. Kind is empty when the message keeps no receipts (a
// room's, or one the viewer no longer sees).
type Receipt struct {
	Kind conversation.Kind
	// Readers is how many members other than the sender read it and see
	// it (readCount).
	Readers int
	// Read and Delivered are how many members other than the sender have
	// their read or delivered position at or past it, floor or not: the
	// direct chat's read and delivered marks, which clearing one's history
	// does not take back.
	Read, Delivered int
}

// receiptRow is one message's row of Receipts' query.
type receiptRow struct {
	ID        int    `json:"id"`
	Kind      string `json:"kind"`
	Readers   int    `json:"readers"`
	Read      int    `json:"read"`
	Delivered int    `json:"delivered"`
}

// Receipts returns the receipts of each of msgs the viewer sees, in one
// statement whatever their number (for the GraphQL layer's loaders): the
// messages, read through the Message policy, joined to their
// conversations' active members other than the sender, which the viewer
// may read since he sees the message (the ConversationMember policy admits
// the members of the conversations he sees).
func (s *Service) Receipts(ctx context.Context, msgs []*ent.Message) (map[*ent.Message]Receipt, error) {
	ids := make([]int, len(msgs))
	for i, m := range msgs {
		ids[i] = m.ID
	}
	var rows []receiptRow
	err := s.reader(ctx).Message.Query().Where(message.IDIn(ids...)).Modify(func(sel *sql.Selector) {
		conv := sql.Table(conversation.Table).As("receipt_conversation")
		cm := sql.Table(conversationmember.Table).As("receipt_member")
		seq, sender := sel.C(message.FieldSeq), sel.C(message.FieldSenderID)
		sel.Join(conv).On(sel.C(message.FieldConversationID), conv.C(conversation.FieldID))
		sel.LeftJoin(cm).OnP(sql.And(
			sql.ColumnsEQ(cm.C(conversationmember.FieldConversationID), sel.C(message.FieldConversationID)),
			sql.NEQ(conv.C(conversation.FieldKind), conversation.KindRoom.String()),
			sql.EQ(cm.C(conversationmember.FieldActive), true),
			sql.Or(sql.IsNull(sender), sql.ColumnsNEQ(cm.C(conversationmember.FieldUserID), sender)),
		))
		count := func(cond string) string { return "SUM(CASE WHEN " + cond + " THEN 1 ELSE 0 END)" }
		read := cm.C(conversationmember.FieldReadSeq) + " >= " + seq
		// An active member above his floor sees the message: the
		// membership side of rule.VisibleMessage (rule.SeesMessage), for
		// each message's own seq.
		sees := cm.C(conversationmember.FieldClearedSeq) + " < " + seq
		sel.Select(
			sql.As(sel.C(message.FieldID), "id"),
			sql.As(conv.C(conversation.FieldKind), "kind"),
			sql.As(count(read+" AND "+sees), "readers"),
			sql.As(count(read), "read"),
			sql.As(count(cm.C(conversationmember.FieldDeliveredSeq)+" >= "+seq), "delivered"),
		).GroupBy(sel.C(message.FieldID), conv.C(conversation.FieldKind))
	}).Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("messaging: receipts: %w", err)
	}
	byID := make(map[int]receiptRow, len(rows))
	for _, r := range rows {
		byID[r.ID] = r
	}
	out := make(map[*ent.Message]Receipt, len(msgs))
	for _, m := range msgs {
		r, ok := byID[m.ID]
		if !ok || r.Kind == conversation.KindRoom.String() {
			out[m] = Receipt{}
			continue
		}
		out[m] = Receipt{Kind: conversation.Kind(r.Kind), Readers: r.Readers, Read: r.Read, Delivered: r.Delivered}
	}
	return out, nil
}

// ReadCount is readCount: how many members other than the sender read the
// message and see it; nil in rooms.
func ReadCount(r Receipt) *int {
	if r.Kind == "" {
		return nil
	}
	return &r.Readers
}

// DirectRead is Message.read: for the sender of a direct message, whether
// the other side read it; nil for anyone else and in other conversations.
func DirectRead(ctx context.Context, m *ent.Message, r Receipt) *bool {
	return directMark(ctx, m, r, r.Read)
}

// DirectDelivered is Message.delivered: for the sender of a direct
// message, whether the other side's device received it; nil otherwise.
func DirectDelivered(ctx context.Context, m *ent.Message, r Receipt) *bool {
	return directMark(ctx, m, r, r.Delivered)
}

func directMark(ctx context.Context, m *ent.Message, r Receipt, n int) *bool {
	if r.Kind != conversation.KindDirect || !SentByViewer(ctx, m) {
		return nil
	}
	reached := n > 0
	return &reached
}

// ReadBy pages through the members who read m (as ReadCount counts them),
// in the order they joined the conversation, as a Relay connection:
// forwards with first and after, backwards with last and before (the
// cursors are the memberships'); 20 users a page unless first or last says
// otherwise, at most 100. Nil in rooms. In a group of more than
// Options.ReadReceiptsMaxMembers active members it fails with
// READ_RECEIPTS_COUNT_ONLY: only the count is kept there.
func (s *Service) ReadBy(ctx context.Context, m *ent.Message, after *entgql.Cursor[int], first *int, before *entgql.Cursor[int], last *int) (*ent.UserConnection, error) {
	n, backwards := readByDefault, last != nil
	switch {
	case first != nil && last != nil:
		return nil, apperr.Input(apperr.ReasonInvalid, "first", "give first or last, not both")
	case first != nil:
		n = *first
	case last != nil:
		n = *last
	}
	if n < 0 || n > readByMax {
		return nil, apperr.Input(apperr.ReasonInvalid, map[bool]string{false: "first", true: "last"}[backwards], "a page holds between 0 and %d users", readByMax)
	}
	db := s.reader(ctx)
	conv, err := db.Conversation.Get(ctx, m.ConversationID)
	if ent.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("messaging: read by: %w", err)
	}
	if conv.Kind == conversation.KindRoom {
		return nil, nil
	}
	if conv.Kind == conversation.KindGroup {
		size, err := db.ConversationMember.Query().Where(
			conversationmember.ConversationID(m.ConversationID), conversationmember.Active(true)).Count(ctx)
		if err != nil {
			return nil, fmt.Errorf("messaging: read by: %w", err)
		}
		if size > s.opts.ReadReceiptsMaxMembers {
			return nil, apperr.Deny(ReasonReceiptsCountOnly, "groups of more than %d members keep only the count of readers", s.opts.ReadReceiptsMaxMembers)
		}
	}
	all := db.ConversationMember.Query().Where(
		conversationmember.ConversationID(m.ConversationID), rule.SeesMessage(m.Seq),
		conversationmember.ReadSeqGTE(m.Seq))
	if m.SenderID != nil {
		all.Where(conversationmember.UserIDNEQ(*m.SenderID))
	}
	total, err := all.Clone().Count(ctx)
	if err != nil {
		return nil, fmt.Errorf("messaging: read by: %w", err)
	}
	page := all.Clone()
	if after != nil {
		page.Where(conversationmember.IDGT(after.ID))
	}
	if before != nil {
		page.Where(conversationmember.IDLT(before.ID))
	}
	order := ent.Asc(conversationmember.FieldID)
	if backwards {
		order = ent.Desc(conversationmember.FieldID)
	}
	rows, err := page.Order(order).Limit(n + 1).WithUser().All(ctx)
	if err != nil {
		return nil, fmt.Errorf("messaging: read by: %w", err)
	}
	return userPage(rows, n, total, backwards, after != nil, before != nil,
		func(r *ent.ConversationMember) int { return r.ID },
		func(r *ent.ConversationMember) *ent.User { return r.Edges.User }), nil
}
