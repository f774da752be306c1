package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

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
