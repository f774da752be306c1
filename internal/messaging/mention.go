package messaging

// This file is mentions: a send names members of its conversation
// (mentions), or everyone (mentionAll, for a group's owner and managers
// only: GroupRules.Manages). Each mention is a row (MessageMention) seen
// exactly when its message is; a member's unread mentions are counted from
// those rows and his read position, so a send writes no member's row, and
// reading clears the count by itself. A member mentioned by name gets a
// mention notice; mentionAll notifies nobody by notice (a group may hold
// thousands of members, and a row per member per send is what the send
// path avoids) but counts for everyone and shows in mentionsMe.
// ShouldNotify is the one rule of what a new message notifies a member of.

import (
	"context"
	"fmt"
	"slices"
	"time"

	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/conversation"
	"github.com/parley-im/parley/ent/conversationmember"
	"github.com/parley-im/parley/ent/message"
	"github.com/parley-im/parley/ent/messagemention"
	"github.com/parley-im/parley/ent/notice"
	"github.com/parley-im/parley/ent/predicate"
	"github.com/parley-im/parley/ent/user"
	"github.com/parley-im/parley/ent/viewer"
	noticesvc "github.com/parley-im/parley/internal/notice"
	"github.com/parley-im/parley/internal/platform/apperr"
)

// Reasons and limits of mentions.
const (
	ReasonMentionAllForbidden = "MENTION_ALL_FORBIDDEN"
	ReasonMentionNotMember    = "MENTION_NOT_MEMBER"
	ReasonTooManyMentions     = "TOO_MANY_MENTIONS"
	MentionsMax               = 50
)

// Notices pushes the mention notices (the notice service implements it).
type Notices interface {
	PushAll(ctx context.Context, specs []noticesvc.Spec) error
}

// mentionSpec is what a send mentions: members by id (deduplicated, in the
// order given) and whether everyone.
type mentionSpec struct {
	users []int
	all   bool
}

func (m mentionSpec) empty() bool { return len(m.users) == 0 && !m.all }

// checkMentions validates what r mentions before anything is written:
// at most MentionsMax distinct users (TOO_MANY_MENTIONS), and mentionAll
// only by the owner or a manager of a group (MENTION_ALL_FORBIDDEN).
// Whether the users are members is checked as the rows are written
// (storeMentions). It costs no statement unless mentionAll is asked.
func (s *Service) checkMentions(ctx context.Context, db *ent.Client, conv *ent.Conversation, me int, r Request) (mentionSpec, error) {
	var spec mentionSpec
	for _, id := range r.Mentions {
		if !slices.Contains(spec.users, id) {
			spec.users = append(spec.users, id)
		}
	}
	if len(spec.users) > MentionsMax {
		return spec, apperr.Input(ReasonTooManyMentions, "input.mentions", "a message mentions at most %d users", MentionsMax)
	}
	if r.MentionAll {
		if conv.Kind != conversation.KindGroup {
			return spec, apperr.Deny(ReasonMentionAllForbidden, "only a group's owner and managers mention everyone")
		}
		ok, err := s.opts.Groups.Manages(ctx, db, conv.ID, me)
		if err != nil {
			return spec, err
		}
		if !ok {
			return spec, apperr.Deny(ReasonMentionAllForbidden, "only a group's owner and managers mention everyone")
		}
		spec.all = true
	}
	return spec, nil
}

// storeMentions writes the mention rows of msg in one statement that also
// checks the users: INSERT … SELECT from the conversation's active members,
// RETURNING who was written; a user missing from what came back is no
// member (MENTION_NOT_MEMBER, and the send's transaction rolls back). The
// users mentioned by name, the sender aside, then get a mention notice.
// Nothing is run for a send without mentions.
func (s *Service) storeMentions(ctx context.Context, db *ent.Client, msg *ent.Message, sender int, m mentionSpec) error {
	if m.empty() {
		return nil
	}
	tx := ent.TxFromContext(ctx)
	if tx == nil {
		return fmt.Errorf("messaging: mentions: no transaction")
	}
	d := dialect.SQLite
	if s.log.Postgres() {
		d = dialect.Postgres
	}
	now := time.Now()
	b := &sql.Builder{}
	b.SetDialect(d)
	cols := []string{messagemention.FieldMessageID, messagemention.FieldConversationID, messagemention.FieldSeq,
		messagemention.FieldUserID, messagemention.FieldEveryone, messagemention.FieldLevel, messagemention.FieldCreatedAt}
	b.WriteString("INSERT INTO ").Ident(messagemention.Table).WriteString(" (").IdentComma(cols...).WriteString(") ")
	// PostgreSQL types the arguments of a SELECT by casts (a UNION leaves
	// them text otherwise); SQLite takes them as they come.
	cast := func(typ string) string {
		if d == dialect.Postgres {
			return "::" + typ
		}
		return ""
	}
	values := func(b *sql.Builder) *sql.Builder {
		return b.Arg(msg.ID).WriteString(cast("bigint")).Comma().Arg(msg.ConversationID).WriteString(cast("bigint")).Comma().
			Arg(msg.Seq).WriteString(cast("bigint")).Comma()
	}
	if len(m.users) > 0 {
		b.WriteString("SELECT ")
		values(b).Ident(conversationmember.FieldUserID).Comma().Arg(false).WriteString(cast("boolean")).Comma().
			Ident(conversationmember.FieldNotificationLevel).Comma().Arg(now).WriteString(cast("timestamptz")).
			WriteString(" FROM ").Ident(conversationmember.Table).
			WriteString(" WHERE ").Ident(conversationmember.FieldConversationID).WriteString(" = ").Arg(msg.ConversationID).
			WriteString(" AND ").Ident(conversationmember.FieldActive).WriteString(" = ").Arg(true).
			WriteString(" AND ").Ident(conversationmember.FieldUserID).WriteString(" IN (")
		for i, id := range m.users {
			if i > 0 {
				b.Comma()
			}
			b.Arg(id)
		}
		b.WriteString(")")
	}
	if m.all {
		if len(m.users) > 0 {
			b.WriteString(" UNION ALL ")
		}
		b.WriteString("SELECT ")
		values(b).WriteString("NULL").WriteString(cast("bigint")).Comma().Arg(true).WriteString(cast("boolean")).Comma().
			Arg("").WriteString(cast("text")).Comma().Arg(now).WriteString(cast("timestamptz"))
	}
	b.WriteString(" RETURNING ").Ident(messagemention.FieldUserID).Comma().Ident(messagemention.FieldLevel)
	query, args := b.Query()
	rows, err := tx.QueryContext(viewer.SystemContext(ctx), query, args...)
	if err != nil {
		return fmt.Errorf("messaging: store mentions: %w", err)
	}
	var written []*ent.ConversationMember
	for rows.Next() {
		var id sql.NullInt64
		var level string
		if err := rows.Scan(&id, &level); err != nil {
			rows.Close()
			return fmt.Errorf("messaging: store mentions: %w", err)
		}
		if id.Valid {
			written = append(written, &ent.ConversationMember{ConversationID: msg.ConversationID, UserID: int(id.Int64),
				Active: true, NotificationLevel: conversationmember.NotificationLevel(level)})
		}
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("messaging: store mentions: %w", err)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("messaging: store mentions: %w", err)
	}
	if len(written) != len(m.users) {
		return apperr.Input(ReasonMentionNotMember, "input.mentions", "mention members of the conversation only")
	}
	if s.opts.Notices == nil || sender == 0 {
		return nil
	}
	var specs []noticesvc.Spec
	for _, member := range written {
		if !ShouldNotify(member, msg, true) {
			continue
		}
		specs = append(specs, noticesvc.Spec{Type: notice.TypeMention, From: sender, To: member.UserID, Data: map[string]any{
			"conversationId": msg.ConversationID, "messageId": msg.ID, "seq": msg.Seq,
		}})
	}
	return s.opts.Notices.PushAll(ctx, specs)
}

// Mentions is what a message mentions, as the viewer sees it.
type Mentions struct {
	Users []*ent.User // the users mentioned by name that the viewer may see
	All   bool        // everyone was mentioned
	Me    bool        // the viewer was mentioned, by name or as one of everyone (never his own message's mentionAll)
}

// MessageMentions returns what each of messages mentions, as the viewer
// sees it: nothing for a message he does not see (the MessageMention
// policy), nor for one whose content is not shown (revoked, deleted). One query whatever the number of messages, for the GraphQL
// layer's loaders; senders come from the messages themselves.
func (s *Service) MessageMentions(ctx context.Context, messageIDs []int) (map[int]*Mentions, error) {
	rows, err := s.reader(ctx).MessageMention.Query().
		Where(messagemention.MessageIDIn(messageIDs...), messagemention.HasMessageWith(Shown())).
		WithMessage().WithUser(func(q *ent.UserQuery) { q.Where(user.AccountStateNEQ(user.AccountStateDeleted)) }).
		Order(ent.Asc(messagemention.FieldID)).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("messaging: mentions: %w", err)
	}
	me := viewer.UserID(ctx)
	out := make(map[int]*Mentions, len(messageIDs))
	for _, r := range rows {
		got := out[r.MessageID]
		if got == nil {
			got = &Mentions{Users: []*ent.User{}}
			out[r.MessageID] = got
		}
		switch {
		case r.Everyone:
			got.All = true
			if m := r.Edges.Message; me != 0 && m != nil && (m.SenderID == nil || *m.SenderID != me) {
				got.Me = true
			}
		case r.UserID != nil:
			if *r.UserID == me && me != 0 {
				got.Me = true
			}
			if r.Edges.User != nil {
				got.Users = append(got.Users, r.Edges.User)
			}
		}
	}
	return out, nil
}

// MentionCounts returns each membership's unread mentions: the messages
// after the member's read position (and visibility floor) that mention
// him by name or mention everyone, as he sees them. Only the viewer's own
// memberships count; others read 0, as their unread counts do. Two
// queries whatever the number of memberships; reading (markRead) clears
// the count, there being no counter to reset.
func (s *Service) MentionCounts(ctx context.Context, memberIDs []int) (map[int]int, error) {
	db := s.reader(ctx)
	me := viewer.UserID(ctx)
	rows, err := db.ConversationMember.Query().Where(conversationmember.IDIn(memberIDs...)).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("messaging: mention counts: %w", err)
	}
	var after []predicate.MessageMention
	for _, m := range rows {
		if m.UserID == me && me != 0 {
			after = append(after, messagemention.And(messagemention.ConversationID(m.ConversationID), messagemention.SeqGT(floor(m))))
		}
	}
	counts := map[int]int{}
	if len(after) > 0 {
		var got []struct {
			ConversationID int `json:"conversation_id"`
			Count          int `json:"count"`
		}
		err := db.MessageMention.Query().Where(
			messagemention.Or(after...),
			messagemention.Or(messagemention.UserID(me), messagemention.Everyone(true)),
			messagemention.HasMessageWith(Shown()),
			// mentionAll does not count for its own sender.
			messagemention.Not(messagemention.And(messagemention.Everyone(true), messagemention.HasMessageWith(message.SenderID(me)))),
		).GroupBy(messagemention.FieldConversationID).Aggregate(func(s *sql.Selector) string {
			// A message that mentions him by name and everyone counts once.
			return sql.As(sql.Count(sql.Distinct(s.C(messagemention.FieldMessageID))), "count")
		}).Scan(ctx, &got)
		if err != nil {
			return nil, fmt.Errorf("messaging: mention counts: %w", err)
		}
		for _, c := range got {
			counts[c.ConversationID] = c.Count
		}
	}
	out := make(map[int]int, len(rows))
	for _, m := range rows {
		if m.UserID == me {
			out[m.ID] = counts[m.ConversationID]
		} else {
			out[m.ID] = 0
		}
	}
	return out, nil
}

// SetNotificationLevel sets what the conversation's new messages notify
// the viewer of (ShouldNotify), on his active membership.
func (s *Service) SetNotificationLevel(ctx context.Context, convID int, level conversationmember.NotificationLevel) (*ent.ConversationMember, error) {
	if err := conversationmember.NotificationLevelValidator(level); err != nil {
		return nil, apperr.Input(apperr.ReasonInvalid, "level", "unknown notification level")
	}
	m, err := myActiveMembership(ctx, convID)
	if err != nil {
		return nil, err
	}
	m, err = m.Update().SetNotificationLevel(level).Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("messaging: set notification level: %w", err)
	}
	return m, nil
}

// ShouldNotify is the one rule of whether a new message notifies a member
// (the mention notice today, Web Push later): never for his own message or
// a membership he left; at level ALL every message; at MENTIONS only a
// message that mentions him (by name, or everyone); at NONE nothing.
// mentioned is Mentions.Me of the message as the member sees it.
func ShouldNotify(member *ent.ConversationMember, msg *ent.Message, mentioned bool) bool {
	if member == nil || msg == nil || !member.Active || (msg.SenderID != nil && *msg.SenderID == member.UserID) {
		return false
	}
	switch member.NotificationLevel {
	case conversationmember.NotificationLevelNONE:
		return false
	case conversationmember.NotificationLevelMENTIONS:
		return mentioned
	default:
		return true
	}
}
