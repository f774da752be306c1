package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Project is a textMark annotation project: texts, entities, relation types
// and relations, shared with collaborators by role.
//
// Names that must be unique (a project per owner, an entity and a relation
// type per project) are compared by their name_key, which graph/annotation
// computes (annotation.NameKey): NFKC, case-folded, whitespace collapsed. A
// unique index on the key backs the domain's check up. Lengths are counted
// in characters (runes), as users count them.
type Project struct{ ent.Schema }

// Fields of the Project.
func (Project) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").Comment("The project's name, 1 to 64 characters, unique per owner regardless of case.").NotEmpty().MaxRuneLen(64).Annotations(entgql.OrderField("NAME")),
		field.String("name_key").Annotations(entgql.Skip()).
			Comment("Folded name: project names are unique per owner regardless of case."),
		field.Int("owner_id").Comment("The id of the project's owner."),
	}
}

// Edges of the Project.
func (Project) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("owner", User.Type).Comment("The project's owner.").Field("owner_id").Unique().Required(),
		edge.To("members", ProjectMember.Type).Comment("The project's members with their roles, the owner included.").
			Annotations(entgql.RelayConnection(), entsql.OnDelete(entsql.Cascade)),
		edge.To("invites", ProjectInvite.Type).
			Annotations(entgql.Skip(), entsql.OnDelete(entsql.Cascade)),
		edge.To("texts", Text.Type).Comment("The project's texts.").
			Annotations(entgql.RelayConnection(), entsql.OnDelete(entsql.Cascade)),
		edge.To("entities", Entity.Type).Comment("The project's entities.").
			Annotations(entgql.RelayConnection(), entsql.OnDelete(entsql.Cascade)),
		edge.To("relation_types", RelationType.Type).Comment("The project's relation types.").
			Annotations(entgql.RelayConnection(), entsql.OnDelete(entsql.Cascade)),
		edge.To("relations", Relation.Type).Comment("The project's relations.").
			Annotations(entgql.RelayConnection(), entsql.OnDelete(entsql.Cascade)),
	}
}

// Indexes of the Project.
func (Project) Indexes() []ent.Index {
	return []ent.Index{index.Fields("owner_id", "name_key").Unique()}
}

// Mixin of the Project.
func (Project) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Annotations of the Project.
func (Project) Annotations() []schema.Annotation {
	return []schema.Annotation{schema.Comment("An annotation project: texts, entities, relation types and relations, shared with members by role. Its members see it."), entgql.RelayConnection()}
}

// ProjectMember gives a user a role in a project: the owner manages members,
// annotators write, viewers read.
type ProjectMember struct{ ent.Schema }

// Fields of the ProjectMember.
func (ProjectMember) Fields() []ent.Field {
	return []ent.Field{
		field.Int("project_id").Comment("The id of the project.").Immutable(),
		field.Int("user_id").Comment("The id of the member.").Immutable(),
		field.Enum("role").Comment("owner (one per project), annotator (reads and writes) or viewer (reads).").Values("owner", "annotator", "viewer").Default("annotator"),
	}
}

// Edges of the ProjectMember.
func (ProjectMember) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("project", Project.Type).Comment("The project.").Ref("members").Field("project_id").Unique().Required().Immutable(),
		edge.From("user", User.Type).Comment("The member.").Ref("project_memberships").Field("user_id").Unique().Required().Immutable(),
	}
}

// Indexes of the ProjectMember.
func (ProjectMember) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("project_id", "user_id").Unique(),
		index.Fields("user_id"), // "my projects"
	}
}

// Mixin of the ProjectMember.
func (ProjectMember) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Annotations of the ProjectMember.
func (ProjectMember) Annotations() []schema.Annotation {
	return []schema.Annotation{schema.Comment("A user's membership of a project, with his role."), entgql.RelayConnection()}
}

// ProjectInvite is the owner's invitation of a friend into a project, accepted
// or refused by the invitee.
type ProjectInvite struct{ ent.Schema }

// Fields of the ProjectInvite.
func (ProjectInvite) Fields() []ent.Field {
	return []ent.Field{
		field.Int("project_id").Comment("The id of the project.").Immutable(),
		field.Int("inviter_id").Comment("The id of the user who invited, the project's owner.").Immutable(),
		field.Int("invitee_id").Comment("The id of the invited user.").Immutable(),
		field.Enum("role").Comment("The role the invitee gets on accepting: annotator or viewer.").Values("annotator", "viewer").Default("annotator"),
		field.Enum("status").Comment("pending until the invitee answers, then accepted or refused.").Values("pending", "accepted", "refused").Default("pending"),
	}
}

// Edges of the ProjectInvite.
func (ProjectInvite) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("project", Project.Type).Comment("The project.").Ref("invites").Field("project_id").Unique().Required().Immutable(),
		edge.To("inviter", User.Type).Comment("The user who invited.").Field("inviter_id").Unique().Required().Immutable(),
		edge.To("invitee", User.Type).Comment("The invited user.").Field("invitee_id").Unique().Required().Immutable(),
	}
}

// Indexes of the ProjectInvite.
func (ProjectInvite) Indexes() []ent.Index {
	return []ent.Index{index.Fields("invitee_id", "status"), index.Fields("project_id")}
}

// Mixin of the ProjectInvite.
func (ProjectInvite) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Annotations of the ProjectInvite.
func (ProjectInvite) Annotations() []schema.Annotation {
	return []schema.Annotation{schema.Comment("The owner's invitation of a friend into a project, accepted or refused by the invitee. The project's owner and the invitee see it."), entgql.RelayConnection()}
}

// Text is one document of a project, the thing annotators mark up. Its
// content never changes once added, so that the offsets of its mentions stay
// valid; its length is stored so that spans are checked, and lists show it,
// without loading the content.
type Text struct{ ent.Schema }

// Fields of the Text.
func (Text) Fields() []ent.Field {
	return []ent.Field{
		field.Int("project_id").Comment("The id of the project.").Immutable(),
		field.String("name").Comment("The text's name, 1 to 128 characters.").NotEmpty().MaxRuneLen(128).Annotations(entgql.OrderField("NAME")),
		field.Text("content").Comment("The full text, at most 100,000 characters; never changes. Loaded only when selected: leave it out of lists.").MaxLen(1 << 20).Immutable().Annotations(entgql.Skip(entgql.SkipWhereInput)),
		field.Int("length").NonNegative().Default(0).Immutable().
			Comment("The content's length in characters (Unicode code points), the unit of mention offsets."),
		field.Int("creator_id").Comment("The id of the user who added it.").Immutable(),
	}
}

// Edges of the Text.
func (Text) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("project", Project.Type).Comment("The project.").Ref("texts").Field("project_id").Unique().Required().Immutable(),
		edge.To("creator", User.Type).Comment("The user who added it.").Field("creator_id").Unique().Required().Immutable(),
		edge.To("mentions", Mention.Type).Comment("The spans of the text marked as mentions of entities.").
			Annotations(entgql.RelayConnection(), entsql.OnDelete(entsql.Cascade)),
	}
}

// Indexes of the Text.
func (Text) Indexes() []ent.Index {
	return []ent.Index{index.Fields("project_id")}
}

// Mixin of the Text.
func (Text) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Annotations of the Text.
func (Text) Annotations() []schema.Annotation {
	return []schema.Annotation{schema.Comment("A document of a project, the thing annotators mark up."), entgql.RelayConnection()}
}

// Entity is a node of the project's knowledge graph.
type Entity struct{ ent.Schema }

// Fields of the Entity.
func (Entity) Fields() []ent.Field {
	return []ent.Field{
		field.Int("project_id").Comment("The id of the project.").Immutable(),
		field.String("name").Comment("The entity's name, 1 to 128 characters, unique per project regardless of case.").NotEmpty().MaxRuneLen(128).Annotations(entgql.OrderField("NAME")),
		field.String("name_key").Annotations(entgql.Skip()).
			Comment("Folded name: names are unique per project regardless of case."),
		field.String("label").Comment("The entity's type, such as PER or ORG, at most 64 characters; relation types may require one. Empty for none.").Default("").MaxRuneLen(64).Comment("Entity type, e.g. PER or ORG, for relation constraints."),
		field.Int("creator_id").Comment("The id of the user who added it.").Immutable(),
	}
}

// Edges of the Entity.
func (Entity) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("project", Project.Type).Comment("The project.").Ref("entities").Field("project_id").Unique().Required().Immutable(),
		edge.To("creator", User.Type).Comment("The user who added it.").Field("creator_id").Unique().Required().Immutable(),
		edge.To("mentions", Mention.Type).Comment("The spans of texts that mention the entity.").
			Annotations(entgql.RelayConnection(), entsql.OnDelete(entsql.Cascade)),
		edge.To("outgoing", Relation.Type).
			Annotations(entgql.Skip(), entsql.OnDelete(entsql.Cascade)),
		edge.To("incoming", Relation.Type).
			Annotations(entgql.Skip(), entsql.OnDelete(entsql.Cascade)),
	}
}

// Indexes of the Entity.
func (Entity) Indexes() []ent.Index {
	return []ent.Index{index.Fields("project_id", "name_key").Unique()}
}

// Mixin of the Entity.
func (Entity) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Annotations of the Entity.
func (Entity) Annotations() []schema.Annotation {
	return []schema.Annotation{schema.Comment("A node of a project's knowledge graph, mentioned in texts and linked by relations."), entgql.RelayConnection()}
}

// Mention is a span [start, end) of a text that refers to an entity, as a
// span annotation of doccano or brat.
type Mention struct{ ent.Schema }

// Fields of the Mention.
func (Mention) Fields() []ent.Field {
	return []ent.Field{
		field.Int("text_id").Comment("The id of the text.").Immutable(),
		field.Int("entity_id").Comment("The id of the entity mentioned.").Immutable(),
		field.Int("start").Comment("Offset of the span's first character in the text, from 0, in Unicode code points.").NonNegative().Immutable(),
		field.Int("end").Comment("Offset just after the span's last character, in Unicode code points: the span is [start, end).").Positive().Immutable(),
		field.Int("creator_id").Comment("The id of the user who marked it.").Immutable(),
	}
}

// Edges of the Mention.
func (Mention) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("text", Text.Type).Comment("The text.").Ref("mentions").Field("text_id").Unique().Required().Immutable(),
		edge.From("entity", Entity.Type).Comment("The entity mentioned.").Ref("mentions").Field("entity_id").Unique().Required().Immutable(),
		edge.To("creator", User.Type).Comment("The user who marked it.").Field("creator_id").Unique().Required().Immutable(),
	}
}

// Indexes of the Mention.
func (Mention) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("text_id", "start", "end", "entity_id").Unique(),
		index.Fields("entity_id"),
	}
}

// Mixin of the Mention.
func (Mention) Mixin() []ent.Mixin { return []ent.Mixin{CreatedMixin{}} }

// Annotations of the Mention.
func (Mention) Annotations() []schema.Annotation {
	return []schema.Annotation{schema.Comment("A span of a text that refers to an entity."), entgql.RelayConnection()}
}

// RelationType is a kind of edge of the knowledge graph, with optional
// brat-style constraints on the labels of its ends.
type RelationType struct{ ent.Schema }

// Fields of the RelationType.
func (RelationType) Fields() []ent.Field {
	return []ent.Field{
		field.Int("project_id").Comment("The id of the project.").Immutable(),
		field.String("name").Comment("The relation type's name, 1 to 64 characters, unique per project regardless of case.").NotEmpty().MaxRuneLen(64).Annotations(entgql.OrderField("NAME")),
		field.String("name_key").Annotations(entgql.Skip()).
			Comment("Folded name: relation type names are unique per project regardless of case."),
		field.Strings("source_labels").Comment("Labels a relation's source entity may have; empty or null allows any.").Optional().SchemaType(jsonColumn), // see Message.parts
		field.Strings("target_labels").Comment("Labels a relation's target entity may have; empty or null allows any.").Optional().SchemaType(jsonColumn),
		field.Bool("symmetric").Comment("Whether the relation holds both ways, so that its reverse pair is taken too.").Default(false),
		field.Int("creator_id").Comment("The id of the user who added it.").Immutable(),
	}
}

// Edges of the RelationType.
func (RelationType) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("project", Project.Type).Comment("The project.").Ref("relation_types").Field("project_id").Unique().Required().Immutable(),
		edge.To("creator", User.Type).Comment("The user who added it.").Field("creator_id").Unique().Required().Immutable(),
		edge.To("relations", Relation.Type).Annotations(entgql.Skip()),
	}
}

// Indexes of the RelationType.
func (RelationType) Indexes() []ent.Index {
	return []ent.Index{index.Fields("project_id", "name_key").Unique()}
}

// Mixin of the RelationType.
func (RelationType) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Annotations of the RelationType.
func (RelationType) Annotations() []schema.Annotation {
	return []schema.Annotation{schema.Comment("A kind of relation of a project, with optional constraints on the labels of its ends."), entgql.RelayConnection()}
}

// Relation is a typed, directed edge between two entities of one project; at
// most one between any two entities, whichever way it points, as textMark
// says. pair_key names the unordered pair ("low:high" entity ids) so that a
// unique index holds that rule against concurrent writers; rows from before
// it have none.
type Relation struct{ ent.Schema }

// Fields of the Relation.
func (Relation) Fields() []ent.Field {
	return []ent.Field{
		field.Int("project_id").Comment("The id of the project.").Immutable(),
		field.Int("type_id").Comment("The id of its relation type."),
		field.Int("source_id").Comment("The id of the source entity.").Immutable(),
		field.Int("target_id").Comment("The id of the target entity.").Immutable(),
		field.Int("creator_id").Comment("The id of the user who added it.").Immutable(),
		field.String("pair_key").Optional().Nillable().Immutable().Annotations(entgql.Skip()),
	}
}

// Edges of the Relation.
func (Relation) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("project", Project.Type).Comment("The project.").Ref("relations").Field("project_id").Unique().Required().Immutable(),
		edge.From("type", RelationType.Type).Comment("Its relation type.").Ref("relations").Field("type_id").Unique().Required(),
		edge.From("source", Entity.Type).Comment("The source entity.").Ref("outgoing").Field("source_id").Unique().Required().Immutable(),
		edge.From("target", Entity.Type).Comment("The target entity.").Ref("incoming").Field("target_id").Unique().Required().Immutable(),
		edge.To("creator", User.Type).Comment("The user who added it.").Field("creator_id").Unique().Required().Immutable(),
	}
}

// Indexes of the Relation.
func (Relation) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("source_id", "target_id").Unique(),
		index.Fields("pair_key").Unique(),
		index.Fields("target_id"),
		index.Fields("type_id"),
		index.Fields("project_id"),
	}
}

// Mixin of the Relation.
func (Relation) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Annotations of the Relation.
func (Relation) Annotations() []schema.Annotation {
	return []schema.Annotation{schema.Comment("A typed, directed edge between two entities of a project."), entgql.RelayConnection()}
}
