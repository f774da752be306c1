package graph

import (
	"context"

	"entgo.io/contrib/entgql"
	"github.com/vikstrous/dataloadgen"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/conversation"
	"github.com/parley-im/parley/ent/conversationmember"
	"github.com/parley-im/parley/ent/message"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/platform/apperr"
)

// lastMessage returns the newest message of a conversation the viewer can
// see (deleted ones left out), or nil.
func (r *Resolver) lastMessage(ctx context.Context, convID int) (*ent.Message, error) {
	query := func() (*ent.Message, error) {
		return r.db(ctx).Message.Query().
			Where(message.ConversationID(convID), message.DeletedAtIsNil()).
			Order(ent.Desc(message.FieldSeq)).First(ctx)
	}
	m, err := load(ctx, func(l *loaders) *dataloadgen.Loader[int, *ent.Message] { return l.lastMessage }, query, convID)
	if m != nil || err != nil {
		return m, err
	}
	// The batch found none visible: the newest may be hidden for the
	// viewer, or there is no message at all.
	c, err := r.conversation(ctx, convID)
	if c == nil || c.LastSeq == 0 || err != nil {
		return nil, err
	}
	m, err = query()
	if ent.IsNotFound(err) {
		return nil, nil
	}
	return m, err
}

// conversation loads a conversation the viewer can see, or nil.
func (r *Resolver) conversation(ctx context.Context, id int) (*ent.Conversation, error) {
	return load(ctx, func(l *loaders) *dataloadgen.Loader[int, *ent.Conversation] { return l.conversation },
		func() (*ent.Conversation, error) { return r.db(ctx).Conversation.Get(ctx, id) }, id)
}

// myMembership returns the viewer's row of a conversation, or nil.
func (r *Resolver) myMembership(ctx context.Context, convID int) (*ent.ConversationMember, error) {
	m, err := r.db(ctx).ConversationMember.Query().Where(
		conversationmember.ConversationID(convID), conversationmember.UserID(viewer.UserID(ctx)),
	).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, nil
	}
	return m, err
}

// conversationOf returns a membership's conversation. It does not trust an
// eager-loaded edge: entgql's field collection loads only the columns the
// query asked for, and the resolvers here need others (last_seq).
func (r *Resolver) conversationOf(ctx context.Context, m *ent.ConversationMember) (*ent.Conversation, error) {
	c, err := r.conversation(ctx, m.ConversationID)
	if c == nil && err == nil {
		return nil, apperr.Missing("conversation")
	}
	return c, err
}

// peer returns the other person of a direct conversation, nil otherwise.
func (r *Resolver) peer(ctx context.Context, c *ent.Conversation) (*ent.User, error) {
	if c.Kind != conversation.KindDirect {
		return nil, nil
	}
	return load(ctx, func(l *loaders) *dataloadgen.Loader[int, *ent.User] { return l.peer }, func() (*ent.User, error) {
		m, err := r.db(ctx).ConversationMember.Query().Where(
			conversationmember.ConversationID(c.ID), conversationmember.UserIDNEQ(viewer.UserID(ctx)),
		).WithUser().First(ctx)
		if err != nil {
			return nil, err
		}
		return m.Edges.User, nil
	}, c.ID)
}

// face returns what a list shows for a conversation: the group's or room's
// name and avatar, or the other person's remark-or-nickname and avatar.
func (r *Resolver) face(ctx context.Context, c *ent.Conversation) (title, avatar string, err error) {
	switch c.Kind {
	case conversation.KindGroup:
		g, err := load(ctx, func(l *loaders) *dataloadgen.Loader[int, *ent.Group] { return l.group },
			func() (*ent.Group, error) { return c.QueryGroup().Only(ctx) }, c.ID)
		if g == nil || err != nil {
			return "", "", err
		}
		return g.Name, g.Avatar, nil
	case conversation.KindRoom:
		rm, err := load(ctx, func(l *loaders) *dataloadgen.Loader[int, *ent.Room] { return l.room },
			func() (*ent.Room, error) { return c.QueryRoom().Only(ctx) }, c.ID)
		if rm == nil || err != nil {
			return "", "", err
		}
		return rm.Name, rm.Avatar, nil
	}
	p, err := r.peer(ctx, c)
	if err != nil || p == nil {
		return "", "", err
	}
	title = p.Nickname
	if title == "" {
		title = p.Username
	}
	f, err := r.friendship(ctx, p.ID)
	if err != nil {
		return "", "", err
	}
	if f != nil && f.Remark != "" {
		title = f.Remark
	}
	return title, p.Avatar, nil
}

// parts presents a message's parts, with fresh URLs for its files.
func (r *Resolver) parts(ctx context.Context, m *ent.Message) ([]*MessagePart, error) {
	out := make([]*MessagePart, 0, len(m.Parts))
	if m.RevokedAt != nil || m.DeletedAt != nil {
		return out, nil
	}
	for _, p := range m.Parts {
		part := &MessagePart{Category: MessagePartCategory(p.Category), Content: p.Content}
		if p.URL != "" {
			part.URL = &p.URL
		}
		if p.FileID != 0 {
			name, size := p.Name, int(p.Size)
			part.Name, part.Size = &name, &size
			if f, err := r.db(ctx).File.Get(ctx, p.FileID); err == nil {
				part.File = f
				u := r.Files.URL(ctx, f)
				part.URL = &u
			}
		}
		out = append(out, part)
	}
	return out, nil
}

// receipt tells the sender of a direct message whether the other side has
// reached it (pos picks the delivered or read position); nil otherwise.
func (r *Resolver) receipt(ctx context.Context, m *ent.Message, pos func(*ent.ConversationMember) int64) (*bool, error) {
	me := viewer.UserID(ctx)
	if m.SenderID == nil || *m.SenderID != me {
		return nil, nil
	}
	other, err := r.db(ctx).ConversationMember.Query().Where(
		conversationmember.ConversationID(m.ConversationID), conversationmember.UserIDNEQ(me),
		conversationmember.HasConversationWith(conversation.KindEQ(conversation.KindDirect)),
	).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	reached := pos(other) >= m.Seq
	return &reached, nil
}

// history pages through a conversation's messages by seq: what the viewer
// may see (the Message policy, which applies his visibility floor), not
// deleted for everyone.
func (r *Resolver) history(ctx context.Context, convID int, after *entgql.Cursor[int], first *int, before *entgql.Cursor[int], last *int) (*ent.MessageConnection, error) {
	if err := signedIn(ctx); err != nil {
		return nil, err
	}
	db := r.db(ctx)
	if _, err := db.Conversation.Get(ctx, convID); err != nil {
		if ent.IsNotFound(err) {
			return nil, apperr.Missing("conversation")
		}
		return nil, err
	}
	return db.Message.Query().Where(message.ConversationID(convID), message.DeletedAtIsNil()).
		Paginate(ctx, after, first, before, last,
			ent.WithMessageOrder(&ent.MessageOrder{Direction: entgql.OrderDirectionAsc, Field: ent.MessageOrderFieldSeq}))
}
