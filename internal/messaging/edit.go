package messaging

// This file is editing a message: its sender replaces its content, within
// the edit window, and every earlier version is kept (MessageEdit rows,
// seen by whoever sees the message). The message keeps its id and seq, so
// quotes, the conversation list's last message and search show the current
// content, and node(id:) reads it like any other message.

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/file"
	"github.com/parley-im/parley/ent/message"
	"github.com/parley-im/parley/ent/messageedit"
	"github.com/parley-im/parley/ent/messagereaction"
	"github.com/parley-im/parley/ent/predicate"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/platform/apperr"
	"github.com/parley-im/parley/internal/platform/eventlog"
	"github.com/parley-im/parley/internal/platform/ratelimit"
)

// KindMessageEdited tells a conversation that a message's content changed
// (node: the Message as it now is; data: conversationId, seq).
const KindMessageEdited = "message.edited"

// Reasons of editing.
const (
	ReasonEditWindow     = "EDIT_WINDOW_PASSED"
	ReasonMessageRevoked = "MESSAGE_REVOKED"
	ReasonMessageDeleted = "MESSAGE_DELETED"
)

// DefaultEditWindow is how long a sender may edit his message unless the
// server says otherwise (PARLEY_EDIT_WINDOW).
const DefaultEditWindow = 24 * time.Hour

// Edit replaces the content of a message with text or parts, checked as a
// send checks them (the same limits, the emoji, voice and upload switches,
// the dirty-word filter as it is stored, the conversation's posting rules:
// the private chat switch, a group's mutes), by its sender only and within
// the edit window (Options.EditWindow; 0 is no limit). A revoked message,
// or one deleted for everyone, cannot be edited. The version it replaces is
// kept as a MessageEdit, and the conversation is told (message.edited). An
// edit that changes nothing writes nothing. Edits spend from the sender's
// message budget, as sends do.
func (s *Service) Edit(ctx context.Context, id int, text string, parts []Part) (*ent.Message, error) {
	db, me, err := SignedInWriter(ctx)
	if err != nil {
		return nil, err
	}
	content, kind, err := s.checkParts(ctx, Request{Text: text, Parts: parts})
	if err != nil {
		return nil, argumentField(err)
	}
	m, err := db.Message.Query().Where(message.ID(id)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, apperr.Missing("message")
	} else if err != nil {
		return nil, fmt.Errorf("messaging: load message: %w", err)
	}
	if err := s.editable(ctx, m); err != nil {
		return nil, err
	}
	conv, err := s.target(ctx, db, me, Request{ConversationID: m.ConversationID})
	if err != nil {
		return nil, err
	}
	if err := s.opts.Budget.Spend(ctx, ratelimit.Messages, 1); err != nil {
		return nil, err
	}
	for i := range content {
		if content[i].FileID == 0 {
			continue
		}
		if content[i], err = s.attach(ctx, content[i], conv.ID, i); err != nil {
			return nil, argumentField(err)
		}
	}
	if m.Kind == kind && reflect.DeepEqual(m.Parts, content) {
		return m, nil
	}
	// Stamping the edit first locks the message's row until commit: a
	// concurrent edit waits, then reads what this one wrote, so no version
	// is lost; a revoke or delete that came first is seen here.
	now := time.Now()
	if err := db.Message.UpdateOneID(m.ID).SetEditedAt(now).Exec(ctx); err != nil {
		return nil, fmt.Errorf("messaging: edit: %w", err)
	}
	if m, err = db.Message.Get(ctx, m.ID); err != nil {
		return nil, fmt.Errorf("messaging: edit: %w", err)
	}
	if err := s.editable(ctx, m); err != nil {
		return nil, err
	}
	written := m.CreatedAt // the first version was written when sent, a later one by the edit before
	if edits, err := db.MessageEdit.Query().Where(messageedit.MessageID(m.ID)).
		Order(ent.Desc(messageedit.FieldID)).First(ctx); err == nil {
		written = edits.ReplacedAt
	} else if !ent.IsNotFound(err) {
		return nil, fmt.Errorf("messaging: edit: %w", err)
	}
	if err := db.MessageEdit.Create().SetMessageID(m.ID).SetKind(messageedit.Kind(m.Kind)).
		SetParts(m.Parts).SetWrittenAt(written).SetReplacedAt(now).Exec(ctx); err != nil {
		return nil, fmt.Errorf("messaging: keep earlier version: %w", err)
	}
	m, err = db.Message.UpdateOneID(m.ID).SetKind(kind).SetParts(content).SetEditedAt(now).Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("messaging: edit: %w", err)
	}
	// A file first sent by this edit is seen from the message's floor, as
	// if the message had sent it (rule.VisibleFile).
	var files []int
	for _, p := range content {
		if p.FileID != 0 {
			files = append(files, p.FileID)
		}
	}
	if len(files) > 0 {
		if err := db.File.Update().Where(file.IDIn(files...), file.SeqIsNil()).SetSeq(m.Seq).Exec(viewer.SystemContext(ctx)); err != nil {
			return nil, fmt.Errorf("messaging: number files: %w", err)
		}
	}
	return m, s.log.Append(ctx, eventlog.Record{
		Topic: eventlog.ConversationTopic(m.ConversationID), Kind: KindMessageEdited, Actor: me, Subject: m.ID,
		Data: map[string]any{"conversationId": m.ConversationID, "seq": m.Seq},
	})
}

// VersionText returns the text of an earlier version of a message: its text
// and emoji parts joined, as Text does for the message.
func VersionText(e *ent.MessageEdit) string { return textOf(e.Parts) }

// editable refuses an edit of m by the viewer: m revoked or deleted for
// everyone, sent by someone else (or by the system), or past the edit
// window.
func (s *Service) editable(ctx context.Context, m *ent.Message) error {
	switch {
	case m.DeletedAt != nil:
		return apperr.Deny(ReasonMessageDeleted, "a message deleted for everyone cannot be edited")
	case m.RevokedAt != nil:
		return apperr.Deny(ReasonMessageRevoked, "a revoked message cannot be edited")
	case !SentByViewer(ctx, m):
		return apperr.Deny(ReasonNotSender, "only the sender may edit a message")
	case s.opts.EditWindow > 0 && time.Since(m.CreatedAt) > s.opts.EditWindow:
		return apperr.Deny(ReasonEditWindow, "messages can be edited within %s of sending", s.opts.EditWindow)
	}
	return nil
}

// argumentField names the field of a content error as editMessage's
// arguments do (text, parts.0), where a send's are inside its input.
func argumentField(err error) error {
	var e *apperr.Error
	if errors.As(err, &e) && strings.HasPrefix(e.Field, "input.") {
		c := *e
		c.Field = strings.TrimPrefix(e.Field, "input.")
		return &c
	}
	return err
}

// forgetContent removes what hangs off the content of the messages pick
// selects, their earlier versions and their reactions, once they are
// revoked or deleted for everyone: content that is gone leaves no copy
// behind.
func forgetContent(ctx context.Context, db *ent.Client, pick predicate.Message) error {
	sys := viewer.SystemContext(ctx)
	if _, err := db.MessageEdit.Delete().Where(messageedit.HasMessageWith(pick)).Exec(sys); err != nil {
		return fmt.Errorf("messaging: forget earlier versions: %w", err)
	}
	if _, err := db.MessageReaction.Delete().Where(messagereaction.HasMessageWith(pick)).Exec(sys); err != nil {
		return fmt.Errorf("messaging: forget reactions: %w", err)
	}
	return nil
}
