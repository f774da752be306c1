package messaging

// This file is the one rule of what of a message a viewer is shown, once
// the Message policy (ent/rule/visibility.go) has decided that he sees it:
// a message deleted for everyone leaves every history (the conversation's
// history, its last message, quotes, revoke and delete), and a revoked or
// deleted message shows no content. Revoke and Delete also empty the stored
// parts; the read side checks again, so a row written otherwise still
// shows nothing.

import (
	"context"
	"strings"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/message"
	"github.com/parley-im/parley/ent/predicate"
	"github.com/parley-im/parley/ent/schematype"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/platform/eventlog"
)

// InHistory selects the messages that keep their place in a conversation:
// all but those deleted for everyone. A revoked message keeps its place,
// with its content gone.
func InHistory() predicate.Message { return message.DeletedAtIsNil() }

// Shown selects the messages whose content a member is shown: those in
// the history that were not revoked. They alone count as unread and stand
// as a conversation's last message.
func Shown() predicate.Message { return message.And(InHistory(), message.RevokedAtIsNil()) }

// ContentShown reports whether m's content is shown: not once it was revoked
// or deleted.
func ContentShown(m *ent.Message) bool { return m.RevokedAt == nil && m.DeletedAt == nil }

// VisibleParts returns the parts of m a viewer is shown: none once it was
// revoked or deleted.
func VisibleParts(m *ent.Message) []schematype.MessagePart {
	if !ContentShown(m) {
		return nil
	}
	return m.Parts
}

// AnnouncedOn reports whether topic is the one m's message.created goes on:
// its conversation's. A live stream shares a new message only when the
// event came on that topic, so that sharing never widens what it follows.
func AnnouncedOn(m *ent.Message, topic string) bool {
	return eventlog.ConversationTopic(m.ConversationID) == topic
}

// SentByViewer reports whether the viewer of ctx sent m.
func SentByViewer(ctx context.Context, m *ent.Message) bool {
	return m.SenderID != nil && *m.SenderID == viewer.UserID(ctx)
}

// Text returns the text of a message: its text and emoji parts joined, or
// nothing once it was revoked or deleted.
func Text(m *ent.Message) string { return textOf(VisibleParts(m)) }

// textOf joins the text and emoji parts of parts. A message of one such
// part, the common case, returns its content without copying it.
func textOf(parts []schematype.MessagePart) string {
	var (
		first string
		n     int
		b     strings.Builder
	)
	for _, p := range parts {
		if p.Category != "text" && p.Category != "emoji" {
			continue
		}
		switch n {
		case 0:
			first = p.Content
		case 1:
			b.WriteString(first)
			fallthrough
		default:
			b.WriteString(p.Content)
		}
		n++
	}
	if n <= 1 {
		return first
	}
	return b.String()
}

// previewMax bounds a preview, in characters.
const previewMax = 60

// Preview is the one line lists and quotes show: the text, or a bracketed
// name of what the message holds ("[image]").
func Preview(m *ent.Message) string {
	switch {
	case m.RevokedAt != nil:
		return "[revoked]"
	case m.DeletedAt != nil:
		return "[deleted]"
	}
	var out []string
	for _, p := range m.Parts {
		switch p.Category {
		case "text", "emoji":
			out = append(out, p.Content)
		case "link":
			label := p.Content
			if label == "" {
				label = p.URL
			}
			out = append(out, "[link] "+label)
		default:
			out = append(out, "["+p.Category+"]")
		}
	}
	s := strings.Join(strings.Fields(strings.Join(out, " ")), " ")
	if r := []rune(s); len(r) > previewMax {
		s = string(r[:previewMax-1]) + "…"
	}
	return s
}
