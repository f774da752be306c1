package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/field"
)

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
