package messaging

// This file is messaging's read model: what a viewer reads of his
// conversations and their messages (the list, titles, unread counts, last
// messages, peers, receipts, history). Each read goes through the privacy
// policies as the viewer. The per-item reads of a list take many keys at
// once (LastMessages, Peers, Headings, UnreadCounts), so that the GraphQL layer
// batches them per request (graph/loaders.go) and a list costs a fixed
// number of queries however long it is; the rules stay here.

import (
	"context"
	"fmt"
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent/dialect/sql"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/conversation"
	"github.com/parley-im/parley/ent/conversationmember"
	"github.com/parley-im/parley/ent/friendship"
	"github.com/parley-im/parley/ent/group"
	"github.com/parley-im/parley/ent/message"
	"github.com/parley-im/parley/ent/predicate"
	"github.com/parley-im/parley/ent/room"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/platform/apperr"
	"github.com/parley-im/parley/internal/social"
)

// signedIn returns the viewer of ctx, or SignIn for anonymous requests: a
// viewer's conversations are his own.
func signedIn(ctx context.Context) (int, error) {
	me := viewer.UserID(ctx)
	if me == 0 {
		return 0, apperr.SignIn()
	}
	return me, nil
}

// listed selects the viewer's conversation list: his active memberships of
// direct and group conversations that he did not remove (rooms keep no
// list). listOrder is its order: pinned first, then by last activity
// (ent.ListActivityExpr: the later of the row's own last activity and the
// conversation's last message, so that a send writes no other member's row).
func (s *Service) listed(ctx context.Context, me int) *ent.ConversationMemberQuery {
	return s.reader(ctx).ConversationMember.Query().Where(
		conversationmember.UserID(me), conversationmember.Active(true), conversationmember.Removed(false),
		conversationmember.HasConversationWith(conversation.KindNEQ(conversation.KindRoom)),
	)
}

var listOrder = []*ent.ConversationMemberOrder{
	{Direction: entgql.OrderDirectionDesc, Field: ent.ConversationMemberOrderFieldPinned},
	{Direction: entgql.OrderDirectionDesc, Field: ent.ConversationMemberOrderFieldListActivity},
}

// List pages through the viewer's conversation list (listed, in listOrder),
// in state when it is given.
func (s *Service) List(ctx context.Context, state *conversationmember.State, after *entgql.Cursor[int], first *int, before *entgql.Cursor[int], last *int) (*ent.ConversationMemberConnection, error) {
	me, err := signedIn(ctx)
	if err != nil {
		return nil, err
	}
	q := s.listed(ctx, me)
	if state != nil {
		q.Where(conversationmember.StateEQ(*state))
	}
	return q.WithListActivity().Paginate(ctx, after, first, before, last, ent.WithConversationMemberOrder(listOrder))
}

// Recent returns the conversations of the first n entries of the viewer's
// list, in the list's order (the connection's tie-break on id included):
// what the home screen shows.
func (s *Service) Recent(ctx context.Context, n int) ([]*ent.Conversation, error) {
	me, err := signedIn(ctx)
	if err != nil {
		return nil, err
	}
	// listOrder as ent's terms, as the connection applies it.
	members, err := s.listed(ctx, me).WithConversation().Order(
		conversationmember.ByPinned(sql.OrderDesc()),
		ent.ByListActivity(sql.OrderDesc()),
		conversationmember.ByID(sql.OrderDesc()),
	).Limit(n).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("messaging: recent: %w", err)
	}
	out := make([]*ent.Conversation, 0, len(members))
	for _, m := range members {
		if m.Edges.Conversation != nil {
			out = append(out, m.Edges.Conversation)
		}
	}
	return out, nil
}

// History pages through a conversation's messages by seq: those the viewer
// sees (the Message policy applies his visibility floor) that keep their
// place in the main history (MainHistory: thread replies are paged by
// ThreadMessages). A conversation he may not read is NOT_FOUND.
//
// The page is read first, and the conversation is checked (Watching) only
// when the page has no message or fails: a message the viewer sees is one
// of a conversation he may read (rule.VisibleMessage admits only the
// active members' messages and a room's, which rule.VisibleConversation
// admits too), so a page with a message needs no second statement to say
// so. The answer, and which error comes first, are those of checking
// before.
func (s *Service) History(ctx context.Context, convID int, after *entgql.Cursor[int], first *int, before *entgql.Cursor[int], last *int) (*ent.MessageConnection, error) {
	if _, err := signedIn(ctx); err != nil {
		return nil, err
	}
	conn, err := s.reader(ctx).Message.Query().Where(message.ConversationID(convID), MainHistory()).
		Paginate(ctx, after, first, before, last,
			ent.WithMessageOrder(&ent.MessageOrder{Direction: entgql.OrderDirectionAsc, Field: ent.MessageOrderFieldSeq}))
	if err != nil || len(conn.Edges) == 0 {
		if err := s.Watching(ctx, convID); err != nil {
			return nil, err
		}
	}
	if err != nil {
		return nil, err
	}
	return conn, nil
}

// Watching reports whether the viewer may read and follow a conversation
// (rule.VisibleConversation): NOT_FOUND otherwise. conversationEvents asks
// it before every event, so a member who leaves or is removed stops at once.
func (s *Service) Watching(ctx context.Context, convID int) error {
	ok, err := s.reader(ctx).Conversation.Query().Where(conversation.ID(convID)).Exist(ctx)
	switch {
	case err != nil:
		return err // the database, not the viewer
	case !ok:
		return apperr.Missing("conversation")
	}
	return nil
}

// DirectWith returns the viewer's direct conversation with user uid, or nil
// when they never talked.
func (s *Service) DirectWith(ctx context.Context, uid int) (*ent.Conversation, error) {
	me, err := signedIn(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.reader(ctx).Conversation.Query().Where(conversation.DirectKey(DirectKey(me, uid))).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, nil
	}
	return c, err
}

// MyMembership returns the viewer's row of a conversation, or nil.
func (s *Service) MyMembership(ctx context.Context, convID int) (*ent.ConversationMember, error) {
	m, err := s.reader(ctx).ConversationMember.Query().Where(
		conversationmember.ConversationID(convID), conversationmember.UserID(viewer.UserID(ctx)),
	).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, nil
	}
	return m, err
}

// Unread is the one rule of a member's unread count: the messages of the
// main history after his read position or his visibility floor, whichever
// is higher, that he can see with their content (not deleted for everyone,
// for him, nor revoked); thread replies count in their thread only
// (thread.go). The sender's own messages are read: sending moves his read
// position. afterFloor is how many messages lie after that floor
// (last_seq − max(read_seq, cleared_seq)); hidden is how many of them he
// cannot see.
func Unread(m *ent.ConversationMember, c *ent.Conversation, hidden int) int {
	return max(afterFloor(m, c)-hidden, 0)
}

func afterFloor(m *ent.ConversationMember, c *ent.Conversation) int {
	return int(max(c.LastSeq-floor(m), 0))
}

func floor(m *ent.ConversationMember) int64 { return max(m.ReadSeq, m.ClearedSeq) }

// LastActivities returns the last activity of each membership of
// memberIDs the viewer can see, by membership id: what his list sorts on
// (ent.ListActivity: the later of the row's own and the conversation's last
// message). A room's rows keep their own, as rooms keep no list. Like
// UnreadCounts it reads the rows itself, with their conversations.
func (s *Service) LastActivities(ctx context.Context, memberIDs []int) (map[int]*time.Time, error) {
	rows, err := s.reader(ctx).ConversationMember.Query().
		Where(conversationmember.IDIn(memberIDs...)).WithConversation().All(ctx)
	if err != nil {
		return nil, fmt.Errorf("messaging: last activities: %w", err)
	}
	out := make(map[int]*time.Time, len(rows))
	for _, m := range rows {
		if c := m.Edges.Conversation; c != nil && c.Kind != conversation.KindRoom {
			out[m.ID] = ent.ListActivity(m, c)
		} else {
			out[m.ID] = m.LastActivityAt
		}
	}
	return out, nil
}

// UnreadCounts returns the unread count (Unread) of each membership of
// memberIDs the viewer can see, by membership id. It reads the rows itself:
// a row at hand may miss columns that a GraphQL query did not select. The
// messages that count are found in one grouped query, as the viewer (the
// Message policy), for his own rows; another member's row counts what lies
// after his floor, as the viewer cannot see what that member sees.
func (s *Service) UnreadCounts(ctx context.Context, memberIDs []int) (map[int]int, error) {
	db := s.reader(ctx)
	rows, err := db.ConversationMember.Query().
		Where(conversationmember.IDIn(memberIDs...)).WithConversation().All(ctx)
	if err != nil {
		return nil, fmt.Errorf("messaging: unread counts: %w", err)
	}
	me := viewer.UserID(ctx)
	var after []predicate.Message
	for _, m := range rows {
		if m.UserID == me && m.Edges.Conversation != nil && afterFloor(m, m.Edges.Conversation) > 0 {
			after = append(after, message.And(message.ConversationID(m.ConversationID), message.SeqGT(floor(m))))
		}
	}
	shown := map[int]int{}
	if len(after) > 0 {
		var counts []struct {
			ConversationID int `json:"conversation_id"`
			Count          int `json:"count"`
		}
		err := db.Message.Query().Where(message.Or(after...), Shown(), message.ThreadIDIsNil()).
			GroupBy(message.FieldConversationID).Aggregate(ent.Count()).Scan(ctx, &counts)
		if err != nil {
			return nil, fmt.Errorf("messaging: unread counts: %w", err)
		}
		for _, c := range counts {
			shown[c.ConversationID] = c.Count
		}
	}
	out := make(map[int]int, len(rows))
	for _, m := range rows {
		c := m.Edges.Conversation
		switch {
		case c == nil:
		case m.UserID == me:
			out[m.ID] = Unread(m, c, afterFloor(m, c)-shown[m.ConversationID])
		default:
			out[m.ID] = Unread(m, c, 0)
		}
	}
	return out, nil
}

// LastMessages returns the newest message of the main history the viewer
// is shown of each conversation of convIDs (Shown and the Message policy), by
// conversation id; a conversation without one is left out. One query finds
// the newest message of every conversation; where privacy hides that one
// from the viewer (he deleted it for himself), that conversation asks again
// on its own.
func (s *Service) LastMessages(ctx context.Context, convIDs []int) (map[int]*ent.Message, error) {
	db := s.reader(ctx)
	rows, err := db.Message.Query().Where(message.ConversationIDIn(convIDs...), Shown(), message.ThreadIDIsNil(), newestShown).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("messaging: last messages: %w", err)
	}
	out := make(map[int]*ent.Message, len(convIDs))
	var missing []int
	for _, m := range rows {
		out[m.ConversationID] = m
	}
	for _, id := range convIDs {
		if out[id] == nil {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	withMessages, err := db.Conversation.Query().Where(conversation.IDIn(missing...), conversation.LastSeqGT(0)).IDs(ctx)
	if err != nil {
		return nil, fmt.Errorf("messaging: last messages: %w", err)
	}
	for _, id := range withMessages {
		m, err := db.Message.Query().Where(message.ConversationID(id), Shown(), message.ThreadIDIsNil()).
			Order(ent.Desc(message.FieldSeq)).First(ctx)
		switch {
		case ent.IsNotFound(err):
		case err != nil:
			return nil, fmt.Errorf("messaging: last message: %w", err)
		default:
			out[id] = m
		}
	}
	return out, nil
}

// newestShown selects the message of highest seq among those of its
// conversation that are Shown, before privacy.
func newestShown(s *sql.Selector) {
	t := sql.Table(message.Table).As("newest")
	newest := sql.Select(sql.Max(t.C(message.FieldSeq))).From(t).
		Where(sql.ColumnsEQ(t.C(message.FieldConversationID), s.C(message.FieldConversationID)))
	Shown()(newest)
	message.ThreadIDIsNil()(newest)
	s.Where(sql.In(s.C(message.FieldSeq), newest))
}

// Peers returns the other person of each direct conversation of convIDs, by
// conversation id; other conversations have none.
func (s *Service) Peers(ctx context.Context, convIDs []int) (map[int]*ent.User, error) {
	rows, err := s.reader(ctx).ConversationMember.Query().Where(
		conversationmember.ConversationIDIn(convIDs...), conversationmember.UserIDNEQ(viewer.UserID(ctx)),
		conversationmember.HasConversationWith(conversation.KindEQ(conversation.KindDirect)),
	).WithUser().All(ctx)
	if err != nil {
		return nil, fmt.Errorf("messaging: peers: %w", err)
	}
	out := make(map[int]*ent.User, len(rows))
	for _, m := range rows {
		if m.Edges.User != nil {
			out[m.ConversationID] = m.Edges.User
		}
	}
	return out, nil
}

// Heading is what a conversation list shows for a conversation.
type Heading struct {
	Title, Avatar string
}

// Headings returns the heading of each conversation of convIDs, by conversation
// id: a group's or room's name and avatar; for a direct conversation the
// other person's avatar and his name for the viewer (social.DisplayName: the
// viewer's remark for him, else his nickname, else his username).
func (s *Service) Headings(ctx context.Context, convIDs []int) (map[int]Heading, error) {
	db := s.reader(ctx)
	out := make(map[int]Heading, len(convIDs))
	groups, err := db.Group.Query().Where(group.ConversationIDIn(convIDs...)).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("messaging: group headings: %w", err)
	}
	groupIDs := make([]int, len(groups))
	for i, g := range groups {
		groupIDs[i] = g.ID
	}
	remarks, err := social.GroupRemarks(ctx, db, groupIDs)
	if err != nil {
		return nil, err
	}
	for _, g := range groups {
		out[g.ConversationID] = Heading{Title: social.Title(g.Name, remarks[g.ID]), Avatar: g.Avatar}
	}
	rooms, err := db.Room.Query().Where(room.ConversationIDIn(convIDs...)).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("messaging: room headings: %w", err)
	}
	for _, r := range rooms {
		out[r.ConversationID] = Heading{Title: r.Name, Avatar: r.Avatar}
	}
	peers, err := s.Peers(ctx, convIDs)
	if err != nil || len(peers) == 0 {
		return out, err
	}
	peerIDs := make([]int, 0, len(peers))
	for _, p := range peers {
		peerIDs = append(peerIDs, p.ID)
	}
	friends, err := db.Friendship.Query().
		Where(friendship.UserID(viewer.UserID(ctx)), friendship.FriendIDIn(peerIDs...)).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("messaging: remarks: %w", err)
	}
	friendRemarks := make(map[int]string, len(friends))
	for _, f := range friends {
		friendRemarks[f.FriendID] = f.Remark
	}
	for convID, p := range peers {
		out[convID] = Heading{Title: social.DisplayName(p, friendRemarks[p.ID]), Avatar: p.Avatar}
	}
	return out, nil
}

// Delivered tells the sender of a direct message whether the other side's
// device received it; nil for anyone else and in other conversations
// (DirectDelivered of its Receipts).
func (s *Service) Delivered(ctx context.Context, m *ent.Message) (*bool, error) {
	rs, err := s.Receipts(ctx, []*ent.Message{m})
	return DirectDelivered(ctx, m, rs[m]), err
}

// Read tells the sender of a direct message whether the other side read it;
// nil for anyone else and in other conversations (DirectRead of its
// Receipts).
func (s *Service) Read(ctx context.Context, m *ent.Message) (*bool, error) {
	rs, err := s.Receipts(ctx, []*ent.Message{m})
	return DirectRead(ctx, m, rs[m]), err
}
