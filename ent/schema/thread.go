package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/entql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	gen "github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/privacy"
	"github.com/parley-im/parley/ent/rule"
)

// ThreadRead is one user's read position in one thread: the seq of the
// last reply he has read. A thread's unread count for a participant is
// counted from it against the replies, so a reply writes no row per
// participant, only its sender's own position (messaging.Service.Send).
type ThreadRead struct{ ent.Schema }

// Fields of the ThreadRead.
func (ThreadRead) Fields() []ent.Field {
	return []ent.Field{
		field.Int("root_id").Immutable(),
		field.Int("user_id").Immutable(),
		field.Int64("read_seq").Default(0),
	}
}

// Edges of the ThreadRead.
func (ThreadRead) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("root", Message.Type).Field("root_id").Unique().Required().Immutable().
			Annotations(entsql.OnDelete(entsql.Cascade)),
		edge.To("user", User.Type).Field("user_id").Unique().Required().Immutable(),
	}
}

// Indexes of the ThreadRead.
func (ThreadRead) Indexes() []ent.Index {
	return []ent.Index{index.Fields("root_id", "user_id").Unique()}
}

// Mixin of the ThreadRead.
func (ThreadRead) Mixin() []ent.Mixin { return []ent.Mixin{CreatedMixin{}} }

// Annotations of the ThreadRead: positions are read through
// Message.thread.unreadCount, never as such.
func (ThreadRead) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}

// Policy of the ThreadRead: a user reads and moves his own positions only,
// in threads whose root he sees (rule.IsOwnThreadReadOfVisibleRoot).
func (ThreadRead) Policy() ent.Policy {
	mine := rule.FilterBy(func(f *gen.ThreadReadFilter, uid int) { f.WhereUserID(entql.IntEQ(uid)) })
	return privacy.Policy{
		Query: readPolicy(mine),
		Mutation: writePolicy(
			rule.AllowCreateIf(rule.Field("root_id"), rule.IsOwnThreadReadOfVisibleRoot),
			mine,
		),
	}
}
