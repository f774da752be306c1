package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/parley-im/parley/ent/schematype"
)

// MessageEdit is one earlier version of an edited message: what it said
// before an edit replaced it, and when. Rows are append-only; revoking or
// deleting the message for everyone removes them with its content.
type MessageEdit struct{ ent.Schema }

// Fields of the MessageEdit.
func (MessageEdit) Fields() []ent.Field {
	return []ent.Field{
		field.Int("message_id").Comment("The id of the message this was a version of.").Immutable(),
		field.Enum("kind").Comment("What this version held, as Message.kind.").
			Values("text", "emoji", "image", "voice", "file", "link", "system", "mixed").Immutable(),
		// Stored as Message.parts is (text on PostgreSQL; see there).
		field.JSON("parts", []schematype.MessagePart{}).SchemaType(jsonColumn).Immutable().Annotations(entgql.Skip()),
		field.Time("written_at").Immutable().
			Comment("When this version was written: the message's sending for the first version, the earlier edit's time for later ones."),
		field.Time("replaced_at").Immutable().
			Comment("When the edit that replaced this version was made."),
	}
}

// Edges of the MessageEdit.
func (MessageEdit) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("message", Message.Type).Comment("The edited message.").Ref("edits").Field("message_id").Unique().Required().Immutable(),
	}
}

// Indexes of the MessageEdit.
func (MessageEdit) Indexes() []ent.Index {
	return []ent.Index{index.Fields("message_id")}
}

// Annotations of the MessageEdit.
func (MessageEdit) Annotations() []schema.Annotation {
	return []schema.Annotation{schema.Comment("An earlier version of an edited message, with when it was written and replaced. Whoever sees the message sees its versions."), entgql.RelayConnection()}
}

// MessageReaction is one user's reaction with one emoji to one message. The
// unique (message, user, emoji) index makes adding twice a no-op, and the
// counts a client sees are counted from these rows, so they stay right
// however many users react at once.
type MessageReaction struct{ ent.Schema }

// Fields of the MessageReaction.
func (MessageReaction) Fields() []ent.Field {
	return []ent.Field{
		field.Int("message_id").Immutable(),
		field.Int("user_id").Immutable(),
		field.String("emoji").MaxLen(64).Immutable(),
	}
}

// Edges of the MessageReaction.
func (MessageReaction) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("message", Message.Type).Ref("reactions").Field("message_id").Unique().Required().Immutable(),
		edge.To("user", User.Type).Field("user_id").Unique().Required().Immutable(),
	}
}

// Indexes of the MessageReaction.
func (MessageReaction) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("message_id", "user_id", "emoji").Unique(),
		index.Fields("message_id", "emoji"),
	}
}

// Mixin of the MessageReaction.
func (MessageReaction) Mixin() []ent.Mixin { return []ent.Mixin{CreatedMixin{}} }

// Annotations of the MessageReaction: rows are read through Message.reactions
// (grouped by emoji), never as such.
func (MessageReaction) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}
