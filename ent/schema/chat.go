package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/parley-im/parley/ent/schematype"
)

// jsonColumn stores a JSON field as text on PostgreSQL (see Message.parts).
var jsonColumn = map[string]string{dialect.Postgres: "text"}

// Group is a chat group: members with roles, its own conversation, join rules
// and a mute-all switch.
type Group struct{ ent.Schema }

// Fields of the Group.
func (Group) Fields() []ent.Field {
	return []ent.Field{
		// Lengths are checked in characters by graph/group (a name has at
		// most 64); ent's MaxLen counts bytes, so it allows 4 per character.
		field.String("name").NotEmpty().MaxLen(256).
			Annotations(entgql.OrderField("NAME")),
		field.String("avatar").Default("").MaxLen(1024),
		field.String("notice").Default("").MaxLen(4096).Comment("Group announcement."),
		field.Int("owner_id"),
		field.Int("conversation_id").Unique().Immutable().Annotations(entgql.Skip()),
		field.Enum("join_mode").Values("open", "approval", "invite_only").Default("approval"),
		field.Bool("mute_all").Default(false),
		field.Int("member_count").Default(0),
		field.String("join_secret").Optional().Sensitive().MaxLen(64).
			Annotations(entgql.Skip()).
			Comment("Key of the group's join links (rule.GroupJoinToken); never shown. Set at creation."),
	}
}

// Edges of the Group.
func (Group) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("owner", User.Type).Field("owner_id").Unique().Required(),
		edge.From("conversation", Conversation.Type).Ref("group").Field("conversation_id").Unique().Required().Immutable(),
		// Group.members is written by hand in graph/groups.graphqls: it
		// takes a query, which the generated connection cannot.
		edge.To("members", GroupMember.Type).
			Annotations(entgql.Skip(), entsql.OnDelete(entsql.Cascade)),
	}
}

// Mixin of the Group.
func (Group) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Indexes of the Group.
func (Group) Indexes() []ent.Index { return []ent.Index{index.Fields("name")} }

// Annotations of the Group.
func (Group) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection()}
}

// GroupMember is a user's membership of a group: role, the member's own remark
// for the group, and a mute deadline.
type GroupMember struct{ ent.Schema }

// Fields of the GroupMember.
func (GroupMember) Fields() []ent.Field {
	return []ent.Field{
		field.Int("group_id").Immutable(),
		field.Int("user_id").Immutable(),
		field.Enum("role").Values("owner", "manager", "member").Default("member"),
		field.String("remark").Default("").MaxLen(256).
			Annotations(entgql.Skip()).
			Comment("The member's own name for the group; private to him (GroupMember.remark resolves it)."),
		field.String("alias").Default("").MaxLen(256).Comment("Display name inside the group."),
		field.Time("muted_until").Optional().Nillable(),
	}
}

// Edges of the GroupMember.
func (GroupMember) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("group", Group.Type).Ref("members").Field("group_id").Unique().Required().Immutable(),
		edge.From("user", User.Type).Ref("group_memberships").Field("user_id").Unique().Required().Immutable(),
	}
}

// Indexes of the GroupMember.
func (GroupMember) Indexes() []ent.Index {
	return []ent.Index{index.Fields("group_id", "user_id").Unique()}
}

// Mixin of the GroupMember.
func (GroupMember) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Annotations of the GroupMember.
func (GroupMember) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection()}
}

// Room is a public chat room: any signed-in user may join.
type Room struct{ ent.Schema }

// Fields of the Room.
func (Room) Fields() []ent.Field {
	return []ent.Field{
		// Lengths are checked in characters by graph/room (a name has at
		// most 64, a detail 1024); ent's MaxLen counts bytes.
		field.String("name").NotEmpty().MaxLen(256).Unique().
			Annotations(entgql.OrderField("NAME")),
		field.String("detail").Default("").MaxLen(4096),
		field.String("avatar").Default("").MaxLen(1024),
		field.Int("owner_id"),
		field.Int("conversation_id").Unique().Immutable().Annotations(entgql.Skip()),
	}
}

// Edges of the Room.
func (Room) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("owner", User.Type).Field("owner_id").Unique().Required(),
		edge.From("conversation", Conversation.Type).Ref("room").Field("conversation_id").Unique().Required().Immutable(),
	}
}

// Mixin of the Room.
func (Room) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Annotations of the Room.
func (Room) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection()}
}

// Conversation is the one stream of messages of a direct chat, a group or a
// room. It numbers its messages: last_seq is bumped in the same transaction as
// each insert, which also serialises concurrent senders of one conversation.
type Conversation struct{ ent.Schema }

// Fields of the Conversation.
func (Conversation) Fields() []ent.Field {
	return []ent.Field{
		field.Enum("kind").Values("direct", "group", "room").Immutable(),
		field.String("direct_key").Optional().Nillable().Unique().Immutable().
			Annotations(entgql.Skip()).
			Comment("\"low:high\" user ids of a direct chat, so that a pair has one conversation."),
		field.Int64("last_seq").Default(0),
		field.Time("last_message_at").Optional().Nillable().
			Annotations(entgql.OrderField("LAST_MESSAGE_AT")),
	}
}

// Edges of the Conversation.
func (Conversation) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("members", ConversationMember.Type).
			Annotations(entgql.RelayConnection(), entsql.OnDelete(entsql.Cascade)),
		edge.To("messages", Message.Type).
			Annotations(entgql.RelayConnection(), entsql.OnDelete(entsql.Cascade)),
		edge.To("group", Group.Type).Unique(),
		edge.To("room", Room.Type).Unique(),
	}
}

// Mixin of the Conversation.
func (Conversation) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Annotations of the Conversation.
func (Conversation) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection()}
}

// ConversationMember is one user's state in a conversation: read and delivery
// positions (unread = last_seq - max(read_seq, cleared_seq), never below 0:
// messaging.Unread), pin, hidden, and whether the
// conversation was removed from the list (a new message brings a removed or
// hidden conversation back, chatting).
type ConversationMember struct{ ent.Schema }

// Fields of the ConversationMember.
func (ConversationMember) Fields() []ent.Field {
	return []ent.Field{
		field.Int("conversation_id").Immutable(),
		field.Int("user_id").Immutable(),
		field.Int64("read_seq").Default(0),
		field.Int64("delivered_seq").Default(0),
		field.Int64("cleared_seq").Default(0).Comment("The member's visibility floor: he sees the messages and files after this seq. A group's new member starts at the conversation's last seq when he joins; clearing the history raises it."),
		field.Time("last_read_at").Optional().Nillable(),
		field.Bool("pinned").Default(false).Annotations(entgql.OrderField("PINNED")),
		field.Enum("state").Values("chatting", "hidden").Default("chatting"),
		field.Time("last_activity_at").Optional().Nillable().
			Annotations(entgql.OrderField("LAST_ACTIVITY_AT")).
			Comment("When the conversation last had a message, copied here so that a user's list sorts on one table."),
		field.Bool("removed").Default(false).Comment("Deleted from my conversation list."),
		field.Bool("active").Default(true).Comment("False once the member left or was removed."),
	}
}

// Edges of the ConversationMember.
func (ConversationMember) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("conversation", Conversation.Type).Ref("members").Field("conversation_id").Unique().Required().Immutable(),
		edge.From("user", User.Type).Ref("conversation_memberships").Field("user_id").Unique().Required().Immutable(),
	}
}

// Indexes of the ConversationMember.
func (ConversationMember) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("conversation_id", "user_id").Unique(),
		index.Fields("user_id", "active", "pinned", "last_activity_at"),
	}
}

// Mixin of the ConversationMember.
func (ConversationMember) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Annotations of the ConversationMember.
func (ConversationMember) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection(), entgql.MultiOrder()}
}

// Message is one message of a conversation, numbered by seq within it.
type Message struct{ ent.Schema }

// Fields of the Message.
func (Message) Fields() []ent.Field {
	return []ent.Field{
		field.Int("conversation_id").Immutable(),
		field.Int("sender_id").Optional().Nillable().Immutable(),
		field.Int64("seq").Immutable().Annotations(entgql.OrderField("SEQ")),
		field.Enum("kind").Values("text", "emoji", "image", "voice", "file", "link", "system", "mixed").Immutable(),
		field.Enum("type").Values("normal", "system", "request", "topic", "announcement", "task", "link").Default("normal").Immutable(),
		// text, not jsonb, on PostgreSQL: the server sends []byte arguments
		// in binary (lib/pq's binary_parameters, one round trip per
		// statement), which text accepts and jsonb does not; json would, but
		// it has no equality operator for ent's SELECT DISTINCT. Parts are
		// never queried inside, so jsonb's operators buy nothing.
		field.JSON("parts", []schematype.MessagePart{}).SchemaType(jsonColumn).Annotations(entgql.Skip()),
		field.Int("quote_id").Optional().Nillable().Immutable(),
		field.String("client_id").Optional().Nillable().MaxLen(64).Immutable().Annotations(entgql.Skip()).
			Comment("Idempotency key chosen by the sending client."),
		field.Time("revoked_at").Optional().Nillable(),
		field.Time("deleted_at").Optional().Nillable().Comment("Deleted for everyone."),
	}
}

// Edges of the Message.
func (Message) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("conversation", Conversation.Type).Ref("messages").Field("conversation_id").Unique().Required().Immutable(),
		edge.To("sender", User.Type).Field("sender_id").Unique().Immutable(),
		edge.To("quote", Message.Type).Field("quote_id").Unique().Immutable(),
		edge.To("hidden_for", User.Type).Annotations(entgql.Skip()).
			Comment("Users who deleted this message for themselves."),
	}
}

// Indexes of the Message.
func (Message) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("conversation_id", "seq").Unique(),
		index.Fields("sender_id", "client_id").Unique(),
	}
}

// Mixin of the Message.
func (Message) Mixin() []ent.Mixin { return []ent.Mixin{CreatedMixin{}} }

// Annotations of the Message.
func (Message) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection()}
}

// File is one stored upload; the bytes live in the storage backend under key.
type File struct{ ent.Schema }

// Fields of the File.
func (File) Fields() []ent.Field {
	return []ent.Field{
		field.Int("owner_id").Immutable(),
		field.Enum("kind").Values("avatar", "image", "voice", "file").Immutable(),
		field.String("name").MaxLen(255).Immutable().Comment("Original file name."),
		field.String("content_type").MaxLen(128).Immutable(),
		field.Int64("size").Immutable(),
		field.String("sha256").MaxLen(64).Immutable(),
		field.String("storage_key").MaxLen(255).Immutable().Annotations(entgql.Skip()),
		field.Bool("public").Default(false).Comment("Avatars are public; message files are readable by the conversation's members."),
		field.Int("conversation_id").Optional().Nillable().
			Comment("The conversation the file was sent in: its members may read it."),
		field.Int64("seq").Optional().Nillable().Annotations(entgql.Skip()).
			Comment("The seq of the first message that sent it in its conversation: a member sees the file from his visibility floor on, as he sees that message."),
	}
}

// Edges of the File.
func (File) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("owner", User.Type).Ref("files").Field("owner_id").Unique().Required().Immutable(),
		edge.To("conversation", Conversation.Type).Field("conversation_id").Unique(),
	}
}

// Indexes of the File.
func (File) Indexes() []ent.Index {
	return []ent.Index{index.Fields("owner_id", "sha256")}
}

// Mixin of the File.
func (File) Mixin() []ent.Mixin { return []ent.Mixin{CreatedMixin{}} }

// Event is one row of the append-only event log: the database is the source of
// truth for everything pushed to subscribers. A row is written in the same
// transaction as the change it describes; its id orders delivery and is the
// resume cursor clients hand back.
type Event struct{ ent.Schema }

// Fields of the Event.
func (Event) Fields() []ent.Field {
	return []ent.Field{
		field.String("topic").MaxLen(64).Immutable(),
		field.String("kind").MaxLen(64).Immutable(),
		field.Int("actor_id").Optional().Nillable().Immutable(),
		field.Int("subject_id").Optional().Nillable().Immutable(),
		field.Bytes("payload").Optional().Immutable(),
		field.String("join_topic").Optional().MaxLen(64).Immutable().
			Comment("A topic that subscribers of this event join from here on (see realtime.Event.Join)."),
		field.String("leave_topic").Optional().MaxLen(64).Immutable().
			Comment("A topic that subscribers of this event leave from here on (see realtime.Event.Leave)."),
	}
}

// Indexes of the Event.
func (Event) Indexes() []ent.Index {
	return []ent.Index{index.Fields("topic")}
}

// Mixin of the Event.
func (Event) Mixin() []ent.Mixin { return []ent.Mixin{CreatedMixin{}} }

// Annotations of the Event.
func (Event) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}
