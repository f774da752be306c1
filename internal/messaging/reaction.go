package messaging

// This file is reactions: a member who sees a message reacts to it with an
// emoji, once per emoji. Each reaction is a row, unique per (message, user,
// emoji), and every count is counted from the rows, so counts stay right
// however many members react at once; the cap of distinct emoji per
// message holds because adding a new emoji locks the message's row first.

import (
	"context"
	"fmt"
	"slices"
	"time"
	"unicode"
	"unicode/utf8"

	"entgo.io/contrib/entgql"
	"github.com/rivo/uniseg"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/message"
	"github.com/parley-im/parley/ent/messagereaction"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/platform/apperr"
	"github.com/parley-im/parley/internal/platform/eventlog"
)

// KindMessageReacted tells a conversation that a message's reactions
// changed (node: the Message as it now is; data: conversationId, seq,
// userId, emoji, and added, false for a removal).
const KindMessageReacted = "message.reacted"

// Reasons of reactions.
const (
	ReasonEmojiInvalid   = "EMOJI_INVALID"
	ReasonTooManyEmoji   = "TOO_MANY_REACTIONS"
	DefaultReactionCap   = 20
	EmojiMaxBytes        = 64
	reactionUsersDefault = 20
	reactionUsersMax     = 100
)

// ValidEmoji reports whether e is one emoji as a reaction holds it: a
// single grapheme cluster (uniseg) of at most EmojiMaxBytes, shown double
// width (keycaps aside), made of pictographic symbols (Unicode category So, regional
// indicators for flags) with only what joins or modifies them: zero width
// joiners, variation selectors, skin tone modifiers, keycaps after 0-9, #
// or *, and the tag characters of subdivision flags. Text ("+1", a CJK
// character) is not an emoji.
func ValidEmoji(e string) bool {
	if e == "" || len(e) > EmojiMaxBytes || !utf8.ValidString(e) {
		return false
	}
	runes := []rune(e)
	keycap := runes[len(runes)-1] == 0x20E3 // uniseg counts keycaps single width
	cluster, rest, width, _ := uniseg.FirstGraphemeClusterInString(e, -1)
	if cluster != e || rest != "" || (width != 2 && !keycap) {
		return false
	}
	for i, r := range runes {
		switch {
		case unicode.Is(unicode.So, r), r >= 0x1F3FB && r <= 0x1F3FF: // symbols; skin tones
		case r == 0x200D || r == 0xFE0F || r == 0xFE0E: // joiner, variation selectors
		case r >= 0xE0020 && r <= 0xE007F: // tags of subdivision flags
		case r == 0x20E3: // combining keycap
			if i == 0 {
				return false
			}
		case (r >= '0' && r <= '9') || r == '#' || r == '*': // a keycap's base
			if i != 0 || !slices.Contains(runes, 0x20E3) {
				return false
			}
		case r == 0x203C || r == 0x2049: // ‼ ⁉
		default:
			return false
		}
	}
	return true
}

// Reaction is one emoji's reactions to a message, as the viewer sees them.
type Reaction struct {
	MessageID int
	Emoji     string
	Count     int
	Mine      bool // the viewer reacted with it
}

// AddReaction reacts to a message with emoji as the viewer: an active
// member of its conversation who sees it (rooms: one who joined). Adding a
// reaction he has is a no-op. A new emoji beyond the cap of distinct emoji
// (Options.ReactionCap) is refused (TOO_MANY_REACTIONS). The conversation
// is told (message.reacted) when something changed.
func (s *Service) AddReaction(ctx context.Context, messageID int, emoji string) (*ent.Message, error) {
	return s.react(ctx, messageID, emoji, true)
}

// RemoveReaction takes back the viewer's reaction with emoji. Removing one
// he does not have is a no-op that returns the message, as adding twice is:
// both leave the reaction as the client asked.
func (s *Service) RemoveReaction(ctx context.Context, messageID int, emoji string) (*ent.Message, error) {
	return s.react(ctx, messageID, emoji, false)
}

func (s *Service) react(ctx context.Context, messageID int, emoji string, add bool) (*ent.Message, error) {
	db, me, err := SignedInWriter(ctx)
	if err != nil {
		return nil, err
	}
	if !ValidEmoji(emoji) {
		return nil, apperr.Input(ReasonEmojiInvalid, "emoji", "a reaction is one emoji")
	}
	m, err := loadInHistory(ctx, db, messageID)
	if err != nil {
		return nil, err
	}
	if m.RevokedAt != nil {
		return nil, apperr.Deny(ReasonMessageRevoked, "a revoked message takes no reactions")
	}
	if _, err := activeMembership(ctx, db, m.ConversationID, me); err != nil {
		if e, ok := apperr.As(err); ok && e.Code == apperr.NotFound {
			return nil, apperr.Deny(ReasonNotMember, "join the conversation to react to its messages")
		}
		return nil, err
	}
	mine := db.MessageReaction.Query().Where(
		messagereaction.MessageID(m.ID), messagereaction.UserID(me), messagereaction.Emoji(emoji))
	if !add {
		n, err := db.MessageReaction.Delete().Where(
			messagereaction.MessageID(m.ID), messagereaction.UserID(me), messagereaction.Emoji(emoji)).Exec(ctx)
		if err != nil {
			return nil, fmt.Errorf("messaging: remove reaction: %w", err)
		}
		if n == 0 {
			return m, nil
		}
		return m, s.reacted(ctx, m, me, emoji, false)
	}
	if had, err := mine.Clone().Exist(ctx); err != nil || had {
		return m, wrap("add reaction", err)
	}
	// Writing reacted_at locks the message's row until commit: concurrent
	// reactions to it take turns from here, so the cap holds and a
	// concurrent second add of the same reaction finds the first.
	if err := db.Message.UpdateOneID(m.ID).SetReactedAt(time.Now()).Exec(ctx); err != nil {
		return nil, fmt.Errorf("messaging: add reaction: %w", err)
	}
	if had, err := mine.Clone().Exist(ctx); err != nil || had {
		return m, wrap("add reaction", err)
	}
	used, err := db.MessageReaction.Query().Where(messagereaction.MessageID(m.ID)).
		Unique(true).Select(messagereaction.FieldEmoji).Strings(ctx)
	if err != nil {
		return nil, fmt.Errorf("messaging: add reaction: %w", err)
	}
	if !slices.Contains(used, emoji) && len(used) >= s.opts.ReactionCap {
		return nil, apperr.Deny(ReasonTooManyEmoji, "a message takes at most %d different emoji", s.opts.ReactionCap)
	}
	if err := db.MessageReaction.Create().SetMessageID(m.ID).SetUserID(me).SetEmoji(emoji).Exec(ctx); err != nil {
		return nil, fmt.Errorf("messaging: add reaction: %w", err)
	}
	return m, s.reacted(ctx, m, me, emoji, true)
}

// reacted tells m's conversation that uid added or removed a reaction.
func (s *Service) reacted(ctx context.Context, m *ent.Message, uid int, emoji string, added bool) error {
	return s.log.Append(ctx, eventlog.Record{
		Topic: eventlog.ConversationTopic(m.ConversationID), Kind: KindMessageReacted, Actor: uid, Subject: m.ID,
		Data: map[string]any{"conversationId": m.ConversationID, "seq": m.Seq, "userId": uid, "emoji": emoji, "added": added},
	})
}

func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("messaging: %s: %w", what, err)
}

// reactionGroup is one emoji's reactions to one message, as counted: the
// first reaction's id orders the emoji.
type reactionGroup struct {
	MessageID int    `json:"message_id"`
	Emoji     string `json:"emoji"`
	Count     int    `json:"count"`
	First     int    `json:"min"`
}

// Reactions returns the reactions to each of messages, by emoji in the
// order they were first used, as the viewer sees them: none for a message
// whose content is not shown. It takes many messages at once (two queries
// whatever their number), for the GraphQL layer's loaders.
func (s *Service) Reactions(ctx context.Context, messageIDs []int) (map[int][]*Reaction, error) {
	var rows []reactionGroup
	db := s.reader(ctx)
	err := db.MessageReaction.Query().
		Where(messagereaction.MessageIDIn(messageIDs...), messagereaction.HasMessageWith(Shown())).
		GroupBy(messagereaction.FieldMessageID, messagereaction.FieldEmoji).
		Aggregate(ent.Count(), ent.Min(messagereaction.FieldID)).Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("messaging: reactions: %w", err)
	}
	out := make(map[int][]*Reaction, len(messageIDs))
	if len(rows) == 0 {
		return out, nil
	}
	slices.SortFunc(rows, func(a, b reactionGroup) int { return a.First - b.First })
	type key struct {
		id    int
		emoji string
	}
	mine := map[key]bool{}
	if me := viewer.UserID(ctx); me != 0 {
		own, err := db.MessageReaction.Query().
			Where(messagereaction.MessageIDIn(messageIDs...), messagereaction.UserID(me)).
			Select(messagereaction.FieldMessageID, messagereaction.FieldEmoji).All(ctx)
		if err != nil {
			return nil, fmt.Errorf("messaging: reactions: %w", err)
		}
		for _, r := range own {
			mine[key{r.MessageID, r.Emoji}] = true
		}
	}
	for _, r := range rows {
		out[r.MessageID] = append(out[r.MessageID], &Reaction{
			MessageID: r.MessageID, Emoji: r.Emoji, Count: r.Count, Mine: mine[key{r.MessageID, r.Emoji}],
		})
	}
	return out, nil
}

// ReactionUsers pages through the users who reacted to a message with
// emoji, first to react first, as a Relay connection: forwards with first
// and after, backwards with last and before (the cursors are the
// reactions'). A page holds 20 users unless first or last says otherwise,
// and at most 100.
func (s *Service) ReactionUsers(ctx context.Context, r *Reaction, after *entgql.Cursor[int], first *int, before *entgql.Cursor[int], last *int) (*ent.UserConnection, error) {
	n, backwards := reactionUsersDefault, last != nil
	switch {
	case first != nil && last != nil:
		return nil, apperr.Input(apperr.ReasonInvalid, "first", "give first or last, not both")
	case first != nil:
		n = *first
	case last != nil:
		n = *last
	}
	if n < 0 || n > reactionUsersMax {
		return nil, apperr.Input(apperr.ReasonInvalid, map[bool]string{false: "first", true: "last"}[backwards], "a page holds between 0 and %d users", reactionUsersMax)
	}
	db := s.reader(ctx)
	all := db.MessageReaction.Query().Where(
		messagereaction.MessageID(r.MessageID), messagereaction.Emoji(r.Emoji),
		messagereaction.HasMessageWith(message.And(message.ID(r.MessageID), Shown())))
	total, err := all.Clone().Count(ctx)
	if err != nil {
		return nil, fmt.Errorf("messaging: reaction users: %w", err)
	}
	page := all.Clone()
	if after != nil {
		page.Where(messagereaction.IDGT(after.ID))
	}
	if before != nil {
		page.Where(messagereaction.IDLT(before.ID))
	}
	order := ent.Asc(messagereaction.FieldID)
	if backwards {
		order = ent.Desc(messagereaction.FieldID)
	}
	rows, err := page.Order(order).Limit(n + 1).WithUser().All(ctx)
	if err != nil {
		return nil, fmt.Errorf("messaging: reaction users: %w", err)
	}
	return userPage(rows, n, total, backwards, after != nil, before != nil,
		func(r *ent.MessageReaction) int { return r.ID },
		func(r *ent.MessageReaction) *ent.User { return r.Edges.User }), nil
}
