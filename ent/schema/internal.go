package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
	"entgo.io/ent/schema/mixin"
)

// Internal keeps an entity out of the GraphQL schema: rows the server keeps
// for itself, which no client reads as such.
type Internal struct{ mixin.Schema }

// Annotations of the Internal.
func (Internal) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}

// Setting is one system setting (the feature switches, the dirty words, the
// app's name...). Public settings are readable by anyone; admins write them.
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
func (Setting) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}, Internal{}} }

// Throttle is one rate limit's state that must hold across server
// instances: the password guesses of an account, and of an account from one
// address, and the announcements of a room's online count (one a second).
// It is a token bucket stored as the "theoretical arrival time" of
// GCRA, so that one conditional UPDATE both checks and consumes an attempt
// and concurrent requests cannot exceed the budget. A row whose tat is past
// is a full bucket, the same as no row, and may be swept.
type Throttle struct{ ent.Schema }

// Fields of the Throttle.
func (Throttle) Fields() []ent.Field {
	return []ent.Field{
		// key is a hash of what is limited (an account, an account and an
		// address), so neither logins nor addresses are stored in clear;
		// a room's is room.online:<id>, which tells nothing private.
		field.String("key").NotEmpty().MaxLen(64).Unique().Immutable(),
		// tat is when the bucket is full again, in Unix milliseconds.
		field.Int64("tat"),
	}
}

// Indexes of the Throttle.
func (Throttle) Indexes() []ent.Index {
	return []ent.Index{index.Fields("tat")}
}

// Mixin of the Throttle.
func (Throttle) Mixin() []ent.Mixin { return []ent.Mixin{Internal{}} }

// VerificationCode is one SMS code sent to a phone. Only a hash is stored; it
// expires, and allows a bounded number of attempts.
type VerificationCode struct{ ent.Schema }

// Fields of the VerificationCode.
func (VerificationCode) Fields() []ent.Field {
	return []ent.Field{
		field.String("phone").MaxLen(20).Immutable(),
		field.Enum("purpose").Values("register", "forget", "reset", "login").Immutable(),
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
func (VerificationCode) Mixin() []ent.Mixin { return []ent.Mixin{CreatedMixin{}, Internal{}} }
