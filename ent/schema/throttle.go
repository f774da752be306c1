package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

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
