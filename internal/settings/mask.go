package settings

import (
	"context"
	"fmt"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/file"
	"github.com/parley-im/parley/ent/group"
	"github.com/parley-im/parley/ent/groupmember"
	"github.com/parley-im/parley/ent/message"
	"github.com/parley-im/parley/ent/notice"
	"github.com/parley-im/parley/ent/room"
	"github.com/parley-im/parley/ent/schematype"
	"github.com/parley-im/parley/ent/user"
)

// maskedFields are the texts people write for others to read, by entity:
// the one list the dirty-word filter applies to (message parts are masked
// by maskParts). Usernames are identifiers, not prose, and remarks are
// private; annotation content is left alone, since a corpus under
// annotation is data its team curates, and masking it would move the
// spans drawn on it.
var maskedFields = map[string][]string{
	ent.TypeUser:        {user.FieldNickname, user.FieldSign, user.FieldLocation},
	ent.TypeGroup:       {group.FieldName, group.FieldNotice},
	ent.TypeGroupMember: {groupmember.FieldAlias},
	ent.TypeRoom:        {room.FieldName, room.FieldDetail},
	ent.TypeFile:        {file.FieldName},
	ent.TypeNotice:      {notice.FieldPostscript},
}

// MaskHook is the dirty-word filter's one boundary: registered on the
// client (client.Use), it masks every text of maskedFields and every
// message part a create or update stores, whichever service writes it, so
// that what others read (lists, node(id:), events, notices, file URLs) is
// masked on every path and nothing writes around it.
func (s *Service) MaskHook() ent.Hook {
	return func(next ent.Mutator) ent.Mutator {
		return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
			if !m.Op().Is(ent.OpCreate | ent.OpUpdate | ent.OpUpdateOne) {
				return next.Mutate(ctx, m)
			}
			fields := maskedFields[m.Type()]
			_, hasParts := m.Field(message.FieldParts)
			hasParts = hasParts && m.Type() == ent.TypeMessage
			if len(fields) == 0 && !hasParts {
				return next.Mutate(ctx, m)
			}
			set, err := s.Get(ctx)
			if err != nil {
				return nil, err
			}
			if len(set.DirtyWords) == 0 {
				return next.Mutate(ctx, m)
			}
			for _, f := range fields {
				if v, ok := m.Field(f); ok {
					if text, ok := v.(string); ok {
						if err := m.SetField(f, MaskWords(text, set.DirtyWords)); err != nil {
							return nil, fmt.Errorf("settings: mask %s.%s: %w", m.Type(), f, err)
						}
					}
				}
			}
			if hasParts {
				v, _ := m.Field(message.FieldParts)
				if parts, ok := v.([]schematype.MessagePart); ok {
					if err := m.SetField(message.FieldParts, maskParts(parts, set.DirtyWords)); err != nil {
						return nil, fmt.Errorf("settings: mask message parts: %w", err)
					}
				}
			}
			return next.Mutate(ctx, m)
		})
	}
}

// maskParts masks what a message's parts show as text: text and emoji
// content, link labels and file names. URLs and file ids stay as they are.
func maskParts(parts []schematype.MessagePart, words []string) []schematype.MessagePart {
	out := make([]schematype.MessagePart, len(parts))
	for i, p := range parts {
		p.Content = MaskWords(p.Content, words)
		p.Name = MaskWords(p.Name, words)
		out[i] = p
	}
	return out
}
