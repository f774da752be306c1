package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// CannedReply is one of a user's prepared replies (seed 002): a welcome text
// sent to strangers, a quick reply, or an FAQ entry.
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

// Setting is one system setting (seed 002's feature toggles, dirty words, app
// name...). Public settings are readable by anyone; admins write them.
type Setting struct{ ent.Schema }

// Fields of the Setting.
func (Setting) Fields() []ent.Field {
	return []ent.Field{
		field.String("key").NotEmpty().MaxLen(64).Unique(),
		field.String("value").MaxRuneLen(65536).Default(""),
		field.Bool("public").Default(true),
	}
}

// Mixin of the Setting.
func (Setting) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Annotations of the Setting.
func (Setting) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}

// VerificationCode is one SMS code sent to a phone. Only a hash is stored; it
// expires, and allows a bounded number of attempts.
type VerificationCode struct{ ent.Schema }

// Fields of the VerificationCode.
func (VerificationCode) Fields() []ent.Field {
	return []ent.Field{
		field.String("phone").MaxLen(20).Immutable(),
		field.Enum("purpose").Values("register", "forget", "reset").Immutable(),
		field.String("code_hash").Sensitive().Immutable(),
		field.Time("expires_at").Immutable(),
		field.Int("attempts").Default(0),
		field.Time("consumed_at").Optional().Nillable(),
		field.String("ip").Default("").MaxLen(64).Immutable(),
	}
}

// Indexes of the VerificationCode.
func (VerificationCode) Indexes() []ent.Index {
	return []ent.Index{index.Fields("phone", "purpose", "created_at")}
}

// Mixin of the VerificationCode.
func (VerificationCode) Mixin() []ent.Mixin { return []ent.Mixin{CreatedMixin{}} }

// Annotations of the VerificationCode.
func (VerificationCode) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}

// Throttle is one rate limit's state that must hold across server
// instances: the password guesses of an account, and of an account from one
// address. It is a token bucket stored as the "theoretical arrival time" of
// GCRA, so that one conditional UPDATE both checks and consumes an attempt
// and concurrent requests cannot exceed the budget. A row whose tat is past
// is a full bucket, the same as no row, and may be swept.
type Throttle struct{ ent.Schema }

// Fields of the Throttle.
func (Throttle) Fields() []ent.Field {
	return []ent.Field{
		// key is a hash of what is limited (an account, an account and an
		// address), so neither logins nor addresses are stored in clear.
		field.String("key").NotEmpty().MaxLen(64).Unique().Immutable(),
		// tat is when the bucket is full again, in Unix milliseconds.
		field.Int64("tat"),
	}
}

// Indexes of the Throttle.
func (Throttle) Indexes() []ent.Index {
	return []ent.Index{index.Fields("tat")}
}

// Annotations of the Throttle.
func (Throttle) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}
