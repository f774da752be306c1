package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// CannedReply is one of a user's prepared replies: a welcome text sent to
// strangers, a quick reply, or an FAQ entry.
type CannedReply struct{ ent.Schema }

// Fields of the CannedReply.
func (CannedReply) Fields() []ent.Field {
	return []ent.Field{
		field.Int("owner_id").Comment("The id of the user who owns the reply; only he sees it.").Immutable(),
		field.Enum("type").Comment("welcome (sent to a stranger who starts a chat), quick_reply (picked by the owner while chatting) or faq.").Values("welcome", "quick_reply", "faq"),
		field.String("title").Comment("Its title in the owner's lists, 1 to 128 characters.").NotEmpty().MaxRuneLen(128),
		field.String("keyword").Comment("A word that finds it when typed, at most 64 characters; empty for none.").Default("").MaxRuneLen(64),
		field.String("content").Comment("The text sent, 1 to 4096 characters.").NotEmpty().MaxRuneLen(4096),
		field.Bool("visible").Comment("False for a reply kept but not offered.").Default(true),
		field.Int("weight").Comment("Sort weight within its type: higher comes first.").Default(0).Annotations(entgql.OrderField("WEIGHT")),
		field.Bool("is_default").Comment("The welcome reply sent by default; at most one per owner and type.").Default(false),
	}
}

// Edges of the CannedReply.
func (CannedReply) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("owner", User.Type).Comment("The user who owns the reply.").Ref("canned_replies").Field("owner_id").Unique().Required().Immutable(),
	}
}

// Indexes of the CannedReply.
func (CannedReply) Indexes() []ent.Index {
	return []ent.Index{index.Fields("owner_id", "type")}
}

// Mixin of the CannedReply.
func (CannedReply) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Annotations of the CannedReply.
func (CannedReply) Annotations() []schema.Annotation {
	return []schema.Annotation{schema.Comment("One of the viewer's prepared replies: a welcome text sent to strangers, a quick reply, or an FAQ entry. Only its owner sees it.")}
}
