package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
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
		field.Int("owner_id").Immutable(),
		field.Enum("type").Values("welcome", "quick_reply", "faq"),
		field.String("title").NotEmpty().MaxRuneLen(128),
		field.String("keyword").Default("").MaxRuneLen(64),
		field.String("content").NotEmpty().MaxRuneLen(4096),
		field.Bool("visible").Default(true),
		field.Int("weight").Default(0).Annotations(entgql.OrderField("WEIGHT")),
		field.Bool("is_default").Default(false),
	}
}

// Edges of the CannedReply.
func (CannedReply) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("owner", User.Type).Ref("canned_replies").Field("owner_id").Unique().Required().Immutable(),
	}
}

// Indexes of the CannedReply.
func (CannedReply) Indexes() []ent.Index {
	return []ent.Index{index.Fields("owner_id", "type")}
}

// Mixin of the CannedReply.
func (CannedReply) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }
