package messaging

// This file is threads: a member replies to a message of the main history
// (its root) in the root's thread, as Slack's and Mattermost's collapsed
// threads do. A reply is a message of the conversation like any other: it
// takes the conversation's next seq, is seen under the one visibility rule
// (rule.VisibleMessage, with the join floor), and is announced by
// message.created on the conversation's topic, so events,
// conversationEvents and their resume carry replies as they carry every
// message. What sets it apart:
//
//   - it stays out of the main history: History and a conversation's last
//     message show roots and other messages of the main history only, and
//     threadMessages pages a thread's replies;
//   - it does not raise the conversation's unread count (UnreadCounts counts
//     the main history only), but the thread's, for each participant (the
//     root's sender and whoever replied): the replies of others after his
//     read position in the thread (ThreadRead), which markThreadRead moves
//     and his own reply moves to it. A reply writes no row per participant;
//   - the root's thread summary changes, which thread.updated tells the
//     conversation (node: the root).
//
// A reply to a reply is refused (THREAD_NOT_ROOT): threads are one level
// deep, and the client replies to the reply's root instead.

import (
	"context"
	"fmt"
	"slices"
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent/dialect/sql"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/message"
	"github.com/parley-im/parley/ent/predicate"
	"github.com/parley-im/parley/ent/threadread"
	"github.com/parley-im/parley/ent/user"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/platform/apperr"
	"github.com/parley-im/parley/internal/platform/eventlog"
)

// Event kinds of threads.
const (
	// KindThreadUpdated tells a conversation that a thread's summary
	// changed: a reply was sent (node: the root; data: conversationId,
	// rootId, seq of the reply).
	KindThreadUpdated = "thread.updated"
	// KindThreadRead tells the viewer's own devices that he read a thread
	// up to seq (node: the root; data: conversationId, rootId, seq).
	KindThreadRead = "thread.read"
)

// Reasons of threads.
const (
	ReasonThreadInvalid = "THREAD_INVALID"
	ReasonThreadNotRoot = "THREAD_NOT_ROOT"
)

// MainHistory selects the messages of a conversation's main history: those
// in it (InHistory) that are not replies in a thread.
func MainHistory() predicate.Message { return message.And(InHistory(), message.ThreadIDIsNil()) }

// threadRoot checks the root a send replies to: a message of conversation
// convID that the viewer sees (the Message policy), not itself a reply,
// neither revoked nor deleted for everyone.
func threadRoot(ctx context.Context, db *ent.Client, convID, rootID int) (*ent.Message, error) {
	root, err := db.Message.Query().Where(message.ID(rootID), message.ConversationID(convID)).Only(ctx)
	switch {
	case ent.IsNotFound(err):
		return nil, apperr.Input(ReasonThreadInvalid, "input.threadId", "the thread's root is not a message of this conversation")
	case err != nil:
		return nil, fmt.Errorf("messaging: find thread root: %w", err)
	case root.ThreadID != nil:
		return nil, apperr.Input(ReasonThreadNotRoot, "input.threadId", "this message is a reply: reply in its root's thread")
	case root.DeletedAt != nil:
		return nil, apperr.Deny(ReasonMessageDeleted, "a message deleted for everyone takes no replies")
	case root.RevokedAt != nil:
		return nil, apperr.Deny(ReasonMessageRevoked, "a revoked message takes no replies")
	}
	return root, nil
}

// replied does what a new reply changes besides the message: its sender has
// read the thread up to it (his own position, one statement), and the
// conversation is told that the thread changed. A message of the main
// history changes nothing here.
func (s *Service) replied(ctx context.Context, db *ent.Client, m *ent.Message) error {
	if m.ThreadID == nil {
		return nil
	}
	if m.SenderID != nil {
		if err := moveThreadRead(ctx, db, *m.ThreadID, *m.SenderID, m.Seq); err != nil {
			return err
		}
	}
	return s.log.Append(ctx, eventlog.Record{
		Topic: eventlog.ConversationTopic(m.ConversationID), Kind: KindThreadUpdated, Actor: derefInt(m.SenderID), Subject: *m.ThreadID,
		Data: map[string]any{"conversationId": m.ConversationID, "rootId": *m.ThreadID, "seq": m.Seq},
	})
}

func derefInt(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

// moveThreadRead moves uid's read position in the thread of rootID up to
// seq, in one statement: created on his first read, never moved back.
func moveThreadRead(ctx context.Context, db *ent.Client, rootID, uid int, seq int64) error {
	err := db.ThreadRead.Create().SetRootID(rootID).SetUserID(uid).SetReadSeq(seq).
		OnConflict(sql.ConflictColumns(threadread.FieldRootID, threadread.FieldUserID),
			sql.ResolveWith(func(u *sql.UpdateSet) {
				cur := u.Table().C(threadread.FieldReadSeq)
				next := sql.Dialect(u.UpdateBuilder.Dialect()).Table("excluded").C(threadread.FieldReadSeq)
				u.Set(threadread.FieldReadSeq, sql.Expr(fmt.Sprintf("CASE WHEN %s > %s THEN %s ELSE %s END", next, cur, next, cur)))
			})).Exec(ctx)
	if err != nil {
		return fmt.Errorf("messaging: thread read position: %w", err)
	}
	return nil
}

// MarkThreadRead moves the viewer's read position in the thread of rootID
// up to seq (the seq of a reply: between 1 and the thread's last reply's),
// never back, and tells his devices (thread.read). The root must be a
// message of the main history he sees; NOT_FOUND otherwise. It returns the
// root.
func (s *Service) MarkThreadRead(ctx context.Context, rootID int, seq int64) (*ent.Message, error) {
	db, me, err := SignedInWriter(ctx)
	if err != nil {
		return nil, err
	}
	root, err := db.Message.Query().Where(message.ID(rootID), MainHistory()).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, apperr.Missing("message")
	} else if err != nil {
		return nil, fmt.Errorf("messaging: find thread root: %w", err)
	}
	lasts, err := db.Message.Query().Where(message.ThreadID(root.ID)).Order(ent.Desc(message.FieldSeq)).Limit(1).
		Select(message.FieldSeq).Ints(viewer.SystemContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("messaging: find thread's last reply: %w", err)
	}
	last := 0
	if len(lasts) > 0 {
		last = lasts[0]
	}
	if seq < 1 || seq > int64(last) {
		return nil, apperr.Input(ReasonSeqInvalid, "seq", "seq must be the seq of a reply of this thread, between 1 and %d", last)
	}
	if err := moveThreadRead(ctx, db, root.ID, me, seq); err != nil {
		return nil, err
	}
	return root, s.log.Append(ctx, eventlog.Record{
		Topic: eventlog.UserTopic(me), Kind: KindThreadRead, Actor: me, Subject: root.ID,
		Data: map[string]any{"conversationId": root.ConversationID, "rootId": root.ID, "seq": seq},
	})
}

// ThreadMessages pages through the replies of the thread of rootID, oldest
// first by seq: those the viewer sees (the Message policy: his join floor,
// what he deleted for himself) that keep their place (InHistory). A root
// that is not a message of the main history, or one of a conversation he may
// not read (Watching), is NOT_FOUND. Whether he sees the root itself does not
// matter: a member who joined after it sees the replies sent since.
func (s *Service) ThreadMessages(ctx context.Context, rootID int, after *entgql.Cursor[int], first *int, before *entgql.Cursor[int], last *int) (*ent.MessageConnection, error) {
	if _, err := signedIn(ctx); err != nil {
		return nil, err
	}
	db := s.reader(ctx)
	root, err := db.Message.Query().Where(message.ID(rootID), message.ThreadIDIsNil()).
		Select(message.FieldConversationID).Only(viewer.SystemContext(ctx))
	if ent.IsNotFound(err) {
		return nil, apperr.Missing("message")
	} else if err != nil {
		return nil, fmt.Errorf("messaging: find thread root: %w", err)
	}
	if err := s.Watching(ctx, root.ConversationID); err != nil {
		if e, ok := apperr.As(err); ok && e.Code == apperr.NotFound {
			return nil, apperr.Missing("message")
		}
		return nil, err
	}
	return db.Message.Query().Where(message.ThreadID(rootID), InHistory()).
		Paginate(ctx, after, first, before, last,
			ent.WithMessageOrder(&ent.MessageOrder{Direction: entgql.OrderDirectionAsc, Field: ent.MessageOrderFieldSeq}))
}

// Thread is the summary of a root's thread as the viewer sees it.
type Thread struct {
	Root         *ent.Message
	ReplyCount   int
	LastReplyAt  time.Time
	LastReplySeq int64
	Participants []*ent.User // the root's sender, then repliers by id
	// UnreadCount is the replies of others after the viewer's read
	// position, for a participant; 0 for anyone else.
	UnreadCount int
}

// Threads returns the thread summary of each of rootIDs that has replies the
// viewer is shown (Shown and the Message policy), by root id: messages
// without such replies, and replies, are left out. It takes many roots at
// once, in a fixed number of queries whatever their number (the replies
// grouped by thread and sender; the roots with each thread's last reply;
// the participants; the viewer's read positions and his unread replies),
// for the GraphQL layer's loaders.
func (s *Service) Threads(ctx context.Context, rootIDs []int) (map[int]*Thread, error) {
	db := s.reader(ctx)
	var groups []struct {
		ThreadID int   `json:"thread_id"`
		SenderID *int  `json:"sender_id"`
		Count    int   `json:"count"`
		Last     int64 `json:"max"`
	}
	err := db.Message.Query().Where(message.ThreadIDIn(rootIDs...), Shown()).
		GroupBy(message.FieldThreadID, message.FieldSenderID).
		Aggregate(ent.Count(), ent.Max(message.FieldSeq)).Scan(ctx, &groups)
	if err != nil {
		return nil, fmt.Errorf("messaging: threads: %w", err)
	}
	out := make(map[int]*Thread, len(rootIDs))
	if len(groups) == 0 {
		return out, nil
	}
	me := viewer.UserID(ctx)
	repliers := map[int][]int{}
	for _, g := range groups {
		t := out[g.ThreadID]
		if t == nil {
			t = &Thread{}
			out[g.ThreadID] = t
		}
		t.ReplyCount += g.Count
		t.LastReplySeq = max(t.LastReplySeq, g.Last)
		if g.SenderID != nil {
			repliers[g.ThreadID] = append(repliers[g.ThreadID], *g.SenderID)
		}
	}
	ids := make([]int, 0, len(out))
	lasts := make([]predicate.Message, 0, len(out))
	for id, t := range out {
		ids = append(ids, id)
		lasts = append(lasts, message.And(message.ThreadID(id), message.Seq(t.LastReplySeq)))
	}
	rows, err := db.Message.Query().Where(message.Or(message.IDIn(ids...), message.Or(lasts...))).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("messaging: threads: %w", err)
	}
	for _, m := range rows {
		if m.ThreadID == nil {
			out[m.ID].Root = m
		} else if t := out[*m.ThreadID]; t != nil {
			t.LastReplyAt = m.CreatedAt
		}
	}
	people := map[int]bool{}
	for id, t := range out {
		if t.Root == nil { // a reply, or a root the viewer does not see
			delete(out, id)
			continue
		}
		if t.Root.SenderID != nil {
			people[*t.Root.SenderID] = true
		}
		for _, uid := range repliers[id] {
			people[uid] = true
		}
	}
	uids := make([]int, 0, len(people))
	for uid := range people {
		uids = append(uids, uid)
	}
	users, err := db.User.Query().Where(user.IDIn(uids...)).Order(ent.Asc(user.FieldID)).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("messaging: thread participants: %w", err)
	}
	byID := make(map[int]*ent.User, len(users))
	for _, u := range users {
		byID[u.ID] = u
	}
	var mine []int // the threads the viewer takes part in
	for id, t := range out {
		in := map[int]bool{}
		if t.Root.SenderID != nil {
			in[*t.Root.SenderID] = true
			if u := byID[*t.Root.SenderID]; u != nil {
				t.Participants = append(t.Participants, u)
			}
		}
		for _, u := range users {
			if !in[u.ID] && slices.Contains(repliers[id], u.ID) {
				in[u.ID] = true
				t.Participants = append(t.Participants, u)
			}
		}
		if me != 0 && in[me] {
			mine = append(mine, id)
		}
	}
	if len(mine) == 0 {
		return out, nil
	}
	return out, s.threadUnread(ctx, db, me, mine, out)
}

// threadUnread sets the unread count of the threads of roots the viewer
// takes part in: the replies he is shown, of others, after his read
// position in each (none read: all of them).
func (s *Service) threadUnread(ctx context.Context, db *ent.Client, me int, roots []int, out map[int]*Thread) error {
	reads, err := db.ThreadRead.Query().Where(threadread.UserID(me), threadread.RootIDIn(roots...)).All(ctx)
	if err != nil {
		return fmt.Errorf("messaging: thread read positions: %w", err)
	}
	pos := make(map[int]int64, len(reads))
	for _, r := range reads {
		pos[r.RootID] = r.ReadSeq
	}
	var after []predicate.Message
	for _, id := range roots {
		if out[id].LastReplySeq > pos[id] {
			after = append(after, message.And(message.ThreadID(id), message.SeqGT(pos[id])))
		}
	}
	if len(after) == 0 {
		return nil
	}
	var counts []struct {
		ThreadID int `json:"thread_id"`
		Count    int `json:"count"`
	}
	err = db.Message.Query().Where(message.Or(after...), Shown(),
		message.Or(message.SenderIDIsNil(), message.SenderIDNEQ(me))).
		GroupBy(message.FieldThreadID).Aggregate(ent.Count()).Scan(ctx, &counts)
	if err != nil {
		return fmt.Errorf("messaging: thread unread counts: %w", err)
	}
	for _, c := range counts {
		if t := out[c.ThreadID]; t != nil {
			t.UnreadCount = c.Count
		}
	}
	return nil
}
