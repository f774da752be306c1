package schema

import (
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/mixin"
)

// TimeMixin stamps rows with creation and update times; every mutable entity
// carries them so that clients can show "edited" and sort by recency.
type TimeMixin struct{ mixin.Schema }

// Fields of the TimeMixin.
func (TimeMixin) Fields() []ent.Field {
	return []ent.Field{
		field.Time("created_at").Immutable().Default(time.Now).Comment("When it was created.").
			Annotations(entgql.OrderField("CREATED_AT")),
		field.Time("updated_at").Comment("When it last changed; its creation time until then.").Default(time.Now).UpdateDefault(time.Now).
			Annotations(entgql.OrderField("UPDATED_AT")),
	}
}

// CreatedMixin stamps append-only rows with their creation time.
type CreatedMixin struct{ mixin.Schema }

// Fields of the CreatedMixin.
func (CreatedMixin) Fields() []ent.Field {
	return []ent.Field{
		field.Time("created_at").Immutable().Default(time.Now).Comment("When it was created; it never changes after.").
			Annotations(entgql.OrderField("CREATED_AT")),
	}
}
