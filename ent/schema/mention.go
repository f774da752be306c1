package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/parley-im/parley/ent/privacy"
	"github.com/parley-im/parley/ent/rule"
)

// MessageMention is one mention in a message: of one member (user_id), or
// of everyone (all, user_id null) when a group's owner or manager
// mentioned all. The conversation and seq are the message's, copied so
// that a member's unread mentions (messaging.MentionCounts) are counted
// from these rows and his read position alone, without a row written per
// member per message.
type MessageMention struct{ ent.Schema }

// Fields of the MessageMention.
func (MessageMention) Fields() []ent.Field {
	return []ent.Field{
		field.Int("message_id").Immutable(),
		field.Int("conversation_id").Immutable(),
		field.Int64("seq").Immutable(),
		field.Int("user_id").Optional().Nillable().Immutable(),
		field.Bool("everyone").Default(false).Immutable(),
		// Copied from the membership by the statement that writes the row,
		// so that the send decides the notice (messaging.ShouldNotify)
		// without reading the members again.
		field.String("level").Default("").Immutable(),
	}
}

// Edges of the MessageMention.
func (MessageMention) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("message", Message.Type).Field("message_id").Unique().Required().Immutable().
			Annotations(entsql.OnDelete(entsql.Cascade)),
		edge.To("user", User.Type).Field("user_id").Unique().Immutable().
			Annotations(entsql.OnDelete(entsql.Cascade)),
	}
}

// Indexes of the MessageMention: one row per (message, user); a member's
// mentions by conversation and seq for his unread count.
func (MessageMention) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("message_id", "user_id").Unique(),
		index.Fields("conversation_id", "user_id", "seq"),
	}
}

// Mixin of the MessageMention.
func (MessageMention) Mixin() []ent.Mixin { return []ent.Mixin{CreatedMixin{}} }

// Annotations of the MessageMention: rows are read through Message.mentions,
// Message.mentionsMe and ConversationMember.mentionCount, never as such.
func (MessageMention) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}

// Policy of the MessageMention: mentions are seen by whoever sees their
// message (rule.VisibleMessageMentions); they are written by the system
// only, in the send that stores their message (messaging.Send), and never
// change.
func (MessageMention) Policy() ent.Policy {
	return privacy.Policy{
		Query:    privacy.QueryPolicy{rule.AllowIfSystem(), rule.DenyIfNoViewer(), rule.VisibleMessageMentions(), privacy.AlwaysAllowRule()},
		Mutation: privacy.MutationPolicy{rule.AllowIfSystem(), privacy.AlwaysDenyRule()},
	}
}
