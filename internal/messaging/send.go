package messaging

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"entgo.io/ent/dialect/sql"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/conversation"
	"github.com/parley-im/parley/ent/conversationmember"
	"github.com/parley-im/parley/ent/file"
	"github.com/parley-im/parley/ent/group"
	"github.com/parley-im/parley/ent/message"
	"github.com/parley-im/parley/ent/room"
	"github.com/parley-im/parley/ent/schematype"
	"github.com/parley-im/parley/ent/user"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/platform/apperr"
	"github.com/parley-im/parley/internal/platform/eventlog"
	"github.com/parley-im/parley/internal/platform/ratelimit"
	"github.com/parley-im/parley/internal/settings"
)

// Part is one part of a message to send.
type Part struct {
	Category string // text, emoji, image, voice, file, link
	Content  string
	FileID   int
	URL      string
}

// Request is a message to send: one target, text or parts.
type Request struct {
	To, GroupID, RoomID, ConversationID int
	Text                                string
	Parts                               []Part
	Type                                message.Type
	QuoteID                             int
	ClientID                            string
	Mentions                            []int // members of the conversation to mention (mention.go)
	MentionAll                          bool  // mention everyone: a group's owner and managers only
	// ThreadID is the root of the thread the message replies in (thread.go);
	// 0 for the main history.
	ThreadID int
}

var emojiOnly = regexp.MustCompile(`^(\[表情\d{1,3}\])+$`)

// SendText sends a text message to another user.
func (s *Service) SendText(ctx context.Context, toUserID int, text, clientID string) (*ent.Message, error) {
	return s.Send(ctx, Request{To: toUserID, Text: text, ClientID: clientID})
}

// Send sends a message as the viewer. The target decides the conversation:
// a user (the direct conversation, opened on first contact), a group or a
// room he belongs to, or any conversation he is an active member of. A retry
// with the same client id returns the message already sent. Every send,
// from any mutation, goes through here, and each one that would write a
// message spends from the viewer's message budget (RATE_LIMITED,
// TOO_MANY_WRITES); a retry spends nothing.
func (s *Service) Send(ctx context.Context, r Request) (*ent.Message, error) {
	db, me, err := SignedInWriter(ctx)
	if err != nil {
		return nil, err
	}
	parts, kind, err := s.checkParts(ctx, r)
	if err != nil {
		return nil, err
	}
	switch {
	case len(r.ClientID) > ClientIDMax:
		return nil, apperr.Input(apperr.ReasonTooLong, "input.clientId", "clientId is longer than %d bytes", ClientIDMax)
	case r.Type == message.TypeSystem:
		return nil, apperr.Input(ReasonSystemType, "input.type", "system messages are sent by the server")
	case r.Type == "":
		r.Type = message.TypeNormal
	}
	if err := message.TypeValidator(r.Type); err != nil {
		return nil, apperr.Input(apperr.ReasonInvalid, "input.type", "unknown message type")
	}
	if sent, err := s.retried(ctx, db, me, r.ClientID); sent != nil || err != nil {
		return sent, err
	}
	if err := s.opts.Budget.Spend(ctx, ratelimit.Messages, 1); err != nil {
		return nil, err
	}
	conv, err := s.target(ctx, db, me, r)
	if err != nil {
		return nil, err
	}
	if r.QuoteID != 0 {
		ok, err := db.Message.Query().Where(
			message.ID(r.QuoteID), message.ConversationID(conv.ID), InHistory(),
		).Exist(ctx)
		if err != nil {
			return nil, fmt.Errorf("messaging: find quote: %w", err)
		}
		if !ok {
			return nil, apperr.Input(ReasonQuoteInvalid, "input.quoteId", "the quoted message is not in this conversation")
		}
	}
	if r.ThreadID != 0 {
		if _, err := threadRoot(ctx, db, conv.ID, r.ThreadID); err != nil {
			return nil, err
		}
	}
	for i := range parts {
		if parts[i].FileID == 0 {
			continue
		}
		if parts[i], err = s.attach(ctx, parts[i], conv.ID, i); err != nil {
			return nil, err
		}
	}
	mentions, err := s.checkMentions(ctx, db, conv, me, r)
	if err != nil {
		return nil, err
	}
	return s.storeNumbered(ctx, db, conv, me, appendSpec{kind: kind, typ: r.Type, parts: parts, quote: r.QuoteID, clientID: r.ClientID, mentions: mentions, thread: r.ThreadID})
}

// retried returns the message an earlier send with the same client id made.
func (s *Service) retried(ctx context.Context, db *ent.Client, me int, clientID string) (*ent.Message, error) {
	if clientID == "" {
		return nil, nil
	}
	sent, err := db.Message.Query().Where(message.SenderID(me), message.ClientID(clientID)).Only(viewer.SystemContext(ctx))
	if ent.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("messaging: find retried send: %w", err)
	}
	return sent, nil
}

// checkParts validates the content of r and returns its parts and kind.
func (s *Service) checkParts(ctx context.Context, r Request) ([]schematype.MessagePart, message.Kind, error) {
	in := r.Parts
	switch {
	case r.Text != "" && len(in) > 0:
		return nil, "", apperr.Input(apperr.ReasonInvalid, "input.text", "give text or parts, not both")
	case r.Text != "":
		cat := "text"
		if emojiOnly.MatchString(strings.TrimSpace(r.Text)) {
			cat = "emoji"
		}
		in = []Part{{Category: cat, Content: r.Text}}
	case len(in) == 0:
		return nil, "", apperr.Input(apperr.ReasonRequired, "input.text", "a message needs text or parts")
	case len(in) > PartsMax:
		return nil, "", apperr.Input(ReasonTooManyParts, "input.parts", "at most %d parts", PartsMax)
	}
	out := make([]schematype.MessagePart, 0, len(in))
	for i, p := range in {
		field := fmt.Sprintf("input.parts.%d", i)
		if r.Text != "" {
			field = "input.text"
		}
		part := schematype.MessagePart{Category: p.Category}
		switch p.Category {
		case "text", "emoji":
			if strings.TrimSpace(p.Content) == "" {
				return nil, "", apperr.Input(apperr.ReasonRequired, field, "text is required")
			}
			if utf8.RuneCountInString(p.Content) > TextMax {
				return nil, "", apperr.Input(apperr.ReasonTooLong, field, "text is longer than %d characters", TextMax)
			}
			if p.Category == "emoji" {
				if !emojiOnly.MatchString(strings.TrimSpace(p.Content)) {
					return nil, "", apperr.Input(apperr.ReasonInvalid, field, "emoji parts hold codes like [表情12] only")
				}
				if err := s.settings.Require(ctx, settings.Emoji); err != nil {
					return nil, "", err
				}
			}
			part.Content = p.Content // the dirty-word filter masks it as it is stored (settings.MaskHook)
		case "image", "voice", "file":
			if p.FileID == 0 {
				return nil, "", apperr.Input(ReasonFileInvalid, field, "a %s part needs the fileId of an upload", p.Category)
			}
			if p.Category == "voice" {
				if err := s.settings.Require(ctx, settings.Voice); err != nil {
					return nil, "", err
				}
			}
			part.FileID = p.FileID
		case "link":
			u, err := url.Parse(strings.TrimSpace(p.URL))
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(p.URL) > URLMax {
				return nil, "", apperr.Input(ReasonLinkInvalid, field, "a link needs an http(s) URL")
			}
			if utf8.RuneCountInString(p.Content) > TextMax {
				return nil, "", apperr.Input(apperr.ReasonTooLong, field, "link text is longer than %d characters", TextMax)
			}
			part.URL, part.Content = u.String(), strings.TrimSpace(p.Content)
		default:
			return nil, "", apperr.Input(apperr.ReasonInvalid, field, "unknown part category %q", apperr.Clip(p.Category))
		}
		out = append(out, part)
	}
	kind := message.Kind(out[0].Category)
	if len(out) > 1 {
		kind = message.KindMixed
	}
	return out, kind, nil
}

// attach checks an uploaded file against its part and attaches it to the
// conversation, copying what clients show (name, size, URL) into the part.
func (s *Service) attach(ctx context.Context, p schematype.MessagePart, convID, i int) (schematype.MessagePart, error) {
	field := fmt.Sprintf("input.parts.%d.fileId", i)
	f, err := s.files.Attach(ctx, p.FileID, convID)
	if err != nil {
		return p, err
	}
	want := map[string]file.Kind{"image": file.KindImage, "voice": file.KindVoice, "file": file.KindFile}[p.Category]
	if f.Kind != want && !(p.Category == "image" && f.Kind == file.KindAvatar) && p.Category != "file" {
		return p, apperr.Input(ReasonFileInvalid, field, "file %d is a %s upload, not a %s", f.ID, f.Kind, p.Category)
	}
	if p.Category == "image" {
		if err := s.settings.Require(ctx, settings.UploadImage); err != nil {
			return p, err
		}
	} else if p.Category == "file" {
		if err := s.settings.Require(ctx, settings.UploadFile); err != nil {
			return p, err
		}
	}
	p.Name, p.Size = f.Name, f.Size
	return p, nil
}

// target resolves the conversation a request goes to and checks that the
// viewer may post there.
func (s *Service) target(ctx context.Context, db *ent.Client, me int, r Request) (*ent.Conversation, error) {
	n := 0
	for _, id := range []int{r.To, r.GroupID, r.RoomID, r.ConversationID} {
		if id != 0 {
			n++
		}
	}
	if n != 1 {
		return nil, apperr.Input(ReasonTargetRequired, "input.to", "give exactly one of to, groupId, roomId and conversationId")
	}
	convID := r.ConversationID
	var err error
	switch {
	case r.To != 0:
		return s.direct(ctx, db, me, r.To)
	case r.GroupID != 0:
		convID, err = conversationOfPlace(ctx, db.Group.Query().Where(group.ID(r.GroupID)).Select(group.FieldConversationID), "group")
	case r.RoomID != 0:
		convID, err = conversationOfPlace(ctx, db.Room.Query().Where(room.ID(r.RoomID)).Select(room.FieldConversationID), "room")
	}
	if err != nil {
		return nil, err
	}
	m, err := findActiveMembership(ctx, db, convID, me)
	switch {
	case err != nil:
		return nil, err
	case m == nil && (r.GroupID != 0 || r.RoomID != 0):
		return nil, apperr.Deny(ReasonNotMember, "join first to post here")
	case m == nil:
		return nil, apperr.Missing("conversation")
	}
	conv := m.Edges.Conversation
	switch conv.Kind {
	case conversation.KindGroup:
		return conv, s.opts.Groups.MayPost(ctx, db, conv.ID, me)
	case conversation.KindDirect:
		if err := s.settings.Require(ctx, settings.PrivateChat); err != nil {
			return nil, err
		}
	}
	return conv, nil
}

// conversationOfPlace returns the conversation id that query (of a group or
// a room, selecting conversation_id) finds; NOT_FOUND names what when there
// is none.
func conversationOfPlace(ctx context.Context, query interface {
	Int(context.Context) (int, error)
}, what string) (int, error) {
	id, err := query.Int(ctx)
	if ent.IsNotFound(err) {
		return 0, apperr.Missing(what)
	} else if err != nil {
		return 0, fmt.Errorf("messaging: find %s: %w", what, err)
	}
	return id, nil
}

// direct returns the direct conversation with user to, opening it on first
// contact (after the private and stranger chat switches), and sends the
// recipient's welcome reply first when a stranger opens it.
func (s *Service) direct(ctx context.Context, db *ent.Client, me, to int) (*ent.Conversation, error) {
	if to == me {
		return nil, apperr.Input(apperr.ReasonInvalid, "input.to", "cannot send a message to yourself")
	}
	peer, err := db.User.Query().Where(user.ID(to), user.AccountStateNEQ(user.AccountStateDeleted)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, apperr.Missing("user")
	} else if err != nil {
		return nil, fmt.Errorf("messaging: find recipient: %w", err)
	}
	if err := s.settings.Require(ctx, settings.PrivateChat); err != nil {
		return nil, err
	}
	// Whether they are friends matters when strangers may not chat, and
	// when the conversation opens (the welcome reply); a send into an open
	// conversation with stranger chat on does not ask.
	strangers, err := s.settings.Enabled(ctx, settings.StrangerChat)
	if err != nil {
		return nil, err
	}
	friends, asked := false, false
	if !strangers {
		if friends, err = s.people.AreFriends(ctx, me, peer.ID); err != nil {
			return nil, err
		}
		if !friends {
			return nil, apperr.Deny(ReasonStrangerChatOff, "chatting with people who are not your friends is turned off")
		}
		asked = true
	}
	conv, opened, err := s.openDirect(ctx, db, me, peer.ID)
	if err != nil || !opened {
		return conv, err
	}
	if !asked {
		if friends, err = s.people.AreFriends(ctx, me, peer.ID); err != nil {
			return nil, err
		}
	}
	if !friends {
		if err := s.welcome(ctx, db, conv, peer.ID); err != nil {
			return nil, err
		}
	}
	return conv, nil
}

// welcome sends owner's default welcome reply as the first message of a
// conversation a stranger just opened with him. It is written as the
// system on the owner's behalf: he did not act, his settings did.
func (s *Service) welcome(ctx context.Context, db *ent.Client, conv *ent.Conversation, owner int) error {
	w, err := s.people.Welcome(ctx, owner)
	if err != nil || w == nil {
		return err
	}
	parts := []schematype.MessagePart{{Category: "text", Content: w.Content}}
	_, err = s.storeNumbered(viewer.SystemContext(ctx), db, conv, owner, appendSpec{kind: message.KindText, typ: message.TypeNormal, parts: parts})
	return err
}

// openDirect returns the direct conversation of two users, creating it and
// its two member rows on first contact (opened is then true).
func (s *Service) openDirect(ctx context.Context, db *ent.Client, a, b int) (conv *ent.Conversation, opened bool, err error) {
	key := DirectKey(a, b)
	conv, err = db.Conversation.Query().Where(conversation.DirectKey(key)).Only(viewer.SystemContext(ctx))
	switch {
	case err == nil:
		// A member who left (deleted account) does not come back; the
		// other side's row is reactivated by a new message.
		return conv, false, nil
	case !ent.IsNotFound(err):
		return nil, false, fmt.Errorf("messaging: find conversation: %w", err)
	}
	conv, err = db.Conversation.Create().SetKind(conversation.KindDirect).SetDirectKey(key).Save(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("messaging: open conversation: %w", err)
	}
	if err := s.Join(ctx, conv.ID, a, b); err != nil {
		return nil, false, err
	}
	return conv, true, nil
}

// DirectKey names the direct conversation of two users: "low:high" ids.
func DirectKey(a, b int) string {
	if a > b {
		a, b = b, a
	}
	return fmt.Sprintf("%d:%d", a, b)
}

// appendSpec is what storeNumbered stores: the message's content, its
// quote and the sender's idempotency key.
type appendSpec struct {
	kind     message.Kind
	typ      message.Type
	parts    []schematype.MessagePart
	quote    int
	clientID string
	mentions mentionSpec
	thread   int // the thread's root, for a reply
}

// storeNumbered numbers and stores a message. Bumping last_seq locks the
// conversation row until commit, so concurrent senders get consecutive seqs,
// and a concurrent retry with the same client id waits here: it then finds
// the first send's message and gives its number back.
func (s *Service) storeNumbered(ctx context.Context, db *ent.Client, conv *ent.Conversation, sender int, a appendSpec) (*ent.Message, error) {
	now := time.Now()
	sys := viewer.SystemContext(ctx)
	seq, err := db.Conversation.NextSeq(sys, conv.ID, now)
	if err != nil {
		return nil, fmt.Errorf("messaging: number message: %w", err)
	}
	if sent, err := s.retried(ctx, db, sender, a.clientID); sent != nil || err != nil {
		if err == nil {
			err = db.Conversation.UpdateOneID(conv.ID).AddLastSeq(-1).Exec(sys)
		}
		return sent, err
	}
	create := db.Message.Create().SetConversationID(conv.ID).SetSeq(seq).
		SetKind(a.kind).SetType(a.typ).SetParts(a.parts).SetCreatedAt(now)
	if sender != 0 {
		create.SetSenderID(sender)
	}
	if a.quote != 0 {
		create.SetQuoteID(a.quote)
	}
	if a.clientID != "" {
		create.SetClientID(a.clientID)
	}
	if a.thread != 0 {
		create.SetThreadID(a.thread)
	}
	msg, err := create.Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("messaging: store message: %w", err)
	}
	if err := s.storeMentions(ctx, db, msg, sender, a.mentions); err != nil {
		return nil, err
	}
	// A file is seen from the same floor as the first message that sent it
	// in this conversation (rule.VisibleFile).
	var files []int
	for _, p := range a.parts {
		if p.FileID != 0 {
			files = append(files, p.FileID)
		}
	}
	if len(files) > 0 {
		if err := db.File.Update().Where(file.IDIn(files...), file.SeqIsNil()).SetSeq(seq).Exec(sys); err != nil {
			return nil, fmt.Errorf("messaging: number files: %w", err)
		}
	}
	// A reply leaves the member rows alone: it is not news of the main
	// history, nor does it read it (thread.go).
	if a.thread == 0 {
		if err := updateMembersOnSend(sys, db, conv, sender, seq, now); err != nil {
			return nil, err
		}
	}
	if err := s.log.Append(ctx, eventlog.Record{
		Topic: eventlog.ConversationTopic(conv.ID), Kind: KindMessageCreated, Actor: sender, Subject: msg.ID,
	}); err != nil {
		return msg, err
	}
	return msg, s.replied(ctx, db, msg) // a reply's thread (thread.go)
}

// updateMembersOnSend writes what a new message changes in the member rows, in one
// statement whose work does not grow with the conversation. Every member's
// list moves the conversation up, but that is read from the conversation's
// last_message_at (ent.ListActivityExpr), not copied into each row. The
// rows written are the sender's, who has read his own message and is
// chatting in it, and those of the members who removed or hid the
// conversation: a new message is news to them and brings it back, chatting.
// Rooms keep no list: only the sender's read position moves.
func updateMembersOnSend(sys context.Context, db *ent.Client, conv *ent.Conversation, sender int, seq int64, now time.Time) error {
	room := conv.Kind == conversation.KindRoom
	if room && sender == 0 {
		return nil
	}
	u := db.ConversationMember.Update().Where(conversationmember.ConversationID(conv.ID))
	mine := conversationmember.UserID(sender)
	back := conversationmember.And(conversationmember.Active(true), conversationmember.Or(
		conversationmember.Removed(true), conversationmember.StateEQ(conversationmember.StateHidden)))
	switch {
	case room:
		u.Where(mine).SetReadSeq(seq).SetDeliveredSeq(seq).SetLastReadAt(now)
	case sender == 0:
		u.Where(back).SetLastActivityAt(now).SetRemoved(false).SetState(conversationmember.StateChatting)
	default:
		u.Where(conversationmember.Or(mine, back)).
			SetLastActivityAt(now).SetRemoved(false).SetState(conversationmember.StateChatting).
			Modify(func(b *sql.UpdateBuilder) {
				b.Set(conversationmember.FieldReadSeq, sendersOnly(sender, conversationmember.FieldReadSeq, seq))
				b.Set(conversationmember.FieldDeliveredSeq, sendersOnly(sender, conversationmember.FieldDeliveredSeq, seq))
				b.Set(conversationmember.FieldLastReadAt, sendersOnly(sender, conversationmember.FieldLastReadAt, now))
			})
	}
	if err := u.Exec(sys); err != nil {
		return fmt.Errorf("messaging: list conversation: %w", err)
	}
	return nil
}

// sendersOnly sets column to v in the sender's row and keeps it in the
// others of the same UPDATE.
func sendersOnly(sender int, column string, v any) sql.Querier {
	return sql.ExprFunc(func(b *sql.Builder) {
		b.WriteString("CASE WHEN ").Ident(conversationmember.FieldUserID).WriteString(" = ").Arg(sender).
			WriteString(" THEN ").Arg(v).WriteString(" ELSE ").Ident(column).WriteString(" END")
	})
}

// System posts a system message (a member joined, the group was renamed)
// into a conversation, sent by nobody.
func (s *Service) System(ctx context.Context, convID int, text string) (*ent.Message, error) {
	db, err := writer(ctx)
	if err != nil {
		return nil, err
	}
	conv, err := db.Conversation.Get(viewer.SystemContext(ctx), convID)
	if err != nil {
		return nil, fmt.Errorf("messaging: system message: %w", err)
	}
	parts := []schematype.MessagePart{{Category: "text", Content: text}}
	return s.storeNumbered(viewer.SystemContext(ctx), db, conv, 0, appendSpec{kind: message.KindSystem, typ: message.TypeSystem, parts: parts})
}
