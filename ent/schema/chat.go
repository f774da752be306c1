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
		field.String("name").Comment("The group's name, 1 to 64 characters; not unique.").NotEmpty().MaxLen(256).
			Annotations(entgql.OrderField("NAME")),
		field.String("avatar").Comment("The URL of the group's avatar image; empty for none.").Default("").MaxLen(1024),
		field.String("notice").Comment("The group's announcement, set by its owner or managers; empty for none.").Default("").MaxLen(4096).Comment("Group announcement."),
		field.Int("owner_id").Comment("The id of the group's owner."),
		field.Int("conversation_id").Unique().Immutable().Annotations(entgql.Skip()),
		field.Enum("join_mode").Comment("How people join: open (at once), approval (the owner or a manager accepts an application) or invite_only (invited by the owner or a manager).").Values("open", "approval", "invite_only").Default("approval"),
		field.Bool("mute_all").Comment("When true only the owner and managers may send messages.").Default(false),
		field.Int("member_count").Comment("How many members the group has, its owner included.").Default(0),
		field.String("join_secret").Optional().Sensitive().MaxLen(64).
			Annotations(entgql.Skip()).
			Comment("Key of the group's join links (rule.GroupJoinToken); never shown. Set at creation."),
	}
}

// Edges of the Group.
func (Group) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("owner", User.Type).Comment("The group's owner.").Field("owner_id").Unique().Required(),
		edge.From("conversation", Conversation.Type).Comment("The group's conversation: its messages, readable by members.").Ref("group").Field("conversation_id").Unique().Required().Immutable(),
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
	return []schema.Annotation{schema.Comment("A chat group: members with roles (owner, managers, members), its own conversation, join rules and a mute-all switch. Its members, and anyone through a join link or search, see it."), entgql.RelayConnection()}
}

// GroupMember is a user's membership of a group: role, the member's own remark
// for the group, and a mute deadline.
type GroupMember struct{ ent.Schema }

// Fields of the GroupMember.
func (GroupMember) Fields() []ent.Field {
	return []ent.Field{
		field.Int("group_id").Comment("The id of the group.").Immutable(),
		field.Int("user_id").Comment("The id of the member.").Immutable(),
		field.Enum("role").Comment("owner (one per group), manager or member.").Values("owner", "manager", "member").Default("member"),
		field.String("remark").Default("").MaxLen(256).
			Annotations(entgql.Skip()).
			Comment("The member's own name for the group; private to him (GroupMember.remark resolves it)."),
		field.String("alias").Comment("The member's display name inside the group, at most 64 characters; empty for his nickname.").Default("").MaxLen(256).Comment("Display name inside the group."),
		field.Time("muted_until").Comment("Until when the member may not send messages (muted by the owner or a manager); null when not muted.").Optional().Nillable(),
	}
}

// Edges of the GroupMember.
func (GroupMember) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("group", Group.Type).Comment("The group.").Ref("members").Field("group_id").Unique().Required().Immutable(),
		edge.From("user", User.Type).Comment("The member.").Ref("group_memberships").Field("user_id").Unique().Required().Immutable(),
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
	return []schema.Annotation{schema.Comment("A user's membership of a group: his role, alias and mute."), entgql.RelayConnection()}
}

// Room is a public chat room: any signed-in user may join.
type Room struct{ ent.Schema }

// Fields of the Room.
func (Room) Fields() []ent.Field {
	return []ent.Field{
		// Lengths are checked in characters by graph/room (a name has at
		// most 64, a detail 1024); ent's MaxLen counts bytes.
		field.String("name").Comment("The room's name, 1 to 64 characters, unique regardless of case.").NotEmpty().MaxLen(256).Unique().
			Annotations(entgql.OrderField("NAME")),
		field.String("detail").Comment("What the room is about, at most 1024 characters; empty for nothing.").Default("").MaxLen(4096),
		field.String("avatar").Comment("The URL of the room's avatar image; empty for none.").Default("").MaxLen(1024),
		field.Int("owner_id").Comment("The id of the room's owner."),
		field.Int("conversation_id").Unique().Immutable().Annotations(entgql.Skip()),
	}
}

// Edges of the Room.
func (Room) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("owner", User.Type).Comment("The room's owner, who may change and delete it.").Field("owner_id").Unique().Required(),
		edge.From("conversation", Conversation.Type).Comment("The room's conversation: its messages.").Ref("room").Field("conversation_id").Unique().Required().Immutable(),
	}
}

// Mixin of the Room.
func (Room) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Annotations of the Room.
func (Room) Annotations() []schema.Annotation {
	return []schema.Annotation{schema.Comment("A public chat room: any signed-in user may see it, join it, and read its messages."), entgql.RelayConnection()}
}

// Conversation is the one stream of messages of a direct chat, a group or a
// room. It numbers its messages: last_seq is bumped in the same transaction as
// each insert, which also serialises concurrent senders of one conversation.
type Conversation struct{ ent.Schema }

// Fields of the Conversation.
func (Conversation) Fields() []ent.Field {
	return []ent.Field{
		field.Enum("kind").Comment("direct (two users), group or room.").Values("direct", "group", "room").Immutable(),
		field.String("direct_key").Optional().Nillable().Unique().Immutable().
			Annotations(entgql.Skip()).
			Comment("\"low:high\" user ids of a direct chat, so that a pair has one conversation."),
		field.Int64("last_seq").Comment("The seq of the latest message; 0 before the first. Messages are numbered 1, 2, 3... within a conversation.").Default(0),
		field.Time("last_message_at").Comment("When the latest message was sent; null before the first.").Optional().Nillable().
			Annotations(entgql.OrderField("LAST_MESSAGE_AT")),
	}
}

// Edges of the Conversation.
func (Conversation) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("members", ConversationMember.Type).Comment("The conversation's memberships, one per member.").
			Annotations(entgql.RelayConnection(), entsql.OnDelete(entsql.Cascade)),
		edge.To("messages", Message.Type).Comment("The conversation's messages, as the viewer may see them.").
			Annotations(entgql.RelayConnection(), entsql.OnDelete(entsql.Cascade)),
		edge.To("group", Group.Type).Comment("The group whose conversation this is; null unless kind is group.").Unique(),
		edge.To("room", Room.Type).Comment("The room whose conversation this is; null unless kind is room.").Unique(),
	}
}

// Mixin of the Conversation.
func (Conversation) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Annotations of the Conversation.
func (Conversation) Annotations() []schema.Annotation {
	return []schema.Annotation{schema.Comment("The stream of messages of a direct chat, a group or a room, numbered by seq. Its members see it; rooms' are public."), entgql.RelayConnection()}
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
		field.Int("conversation_id").Comment("The id of the conversation.").Immutable(),
		field.Int("user_id").Comment("The id of the member.").Immutable(),
		field.Int64("read_seq").Comment("The seq of the last message the member has read; 0 before any.").Default(0),
		field.Int64("delivered_seq").Comment("The seq of the last message delivered to one of the member's devices; 0 before any. Never below readSeq.").Default(0),
		field.Int64("cleared_seq").Default(0).Comment("The member's visibility floor: he sees the messages and files after this seq. A group's new member starts at the conversation's last seq when he joins; clearing the history raises it."),
		field.Time("last_read_at").Comment("When the member last moved his read position; null before.").Optional().Nillable(),
		field.Bool("pinned").Comment("Whether the member pinned the conversation to the top of his list.").Default(false).Annotations(entgql.OrderField("PINNED")),
		field.Enum("state").Comment("chatting (listed) or hidden (left out of the list until its next message).").Values("chatting", "hidden").Default("chatting"),
		// Stored: when the member joined, last sent, or brought the
		// conversation back; a message does not write the other members'
		// rows. What clients read (and the list sorts on) is the later of
		// this and the conversation's last_message_at: ent.ListActivity.
		field.Time("last_activity_at").Optional().Nillable().
			Annotations(entgql.OrderField("LAST_ACTIVITY_AT")).
			Comment("When the conversation last had a message, or when the member joined it if that is later: what his conversation list sorts on. Null in rooms, which keep no list."),
		field.Bool("removed").Default(false).Comment("Whether the member removed the conversation from his list; its next message brings it back."),
		field.Bool("active").Default(true).Comment("False once the member left or was removed."),
		// What a new message notifies (messaging.ShouldNotify): set by the
		// member (setNotificationLevel); read on notifying only, never
		// written by a send.
		field.Enum("notification_level").Values("ALL", "MENTIONS", "NONE").Default("ALL").
			Annotations(entgql.Type("NotificationLevel")).
			Comment("What the conversation's new messages notify the member of: ALL, only the MENTIONS of him, or NONE."),
	}
}

// Edges of the ConversationMember.
func (ConversationMember) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("conversation", Conversation.Type).Comment("The conversation.").Ref("members").Field("conversation_id").Unique().Required().Immutable(),
		edge.From("user", User.Type).Comment("The member.").Ref("conversation_memberships").Field("user_id").Unique().Required().Immutable(),
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
	return []schema.Annotation{schema.Comment("A user's place in a conversation: his read and delivered positions, pin and list state. The fields of the viewer's own membership are what his conversation list shows."), entgql.RelayConnection(), entgql.MultiOrder()}
}

// Message is one message of a conversation, numbered by seq within it.
type Message struct{ ent.Schema }

// Fields of the Message.
func (Message) Fields() []ent.Field {
	return []ent.Field{
		field.Int("conversation_id").Comment("The id of the conversation the message was sent in.").Immutable(),
		field.Int("sender_id").Comment("The id of the sender; null for a system message.").Optional().Nillable().Immutable(),
		field.Int64("seq").Comment("The message's number in its conversation, from 1, without gaps: order and page by it.").Immutable().Annotations(entgql.OrderField("SEQ")),
		field.Enum("kind").Comment("What the message holds: the category of its single part (text, emoji, image, voice, file, link), system, or mixed for several parts of different categories.").Values("text", "emoji", "image", "voice", "file", "link", "system", "mixed"),
		field.Enum("type").Comment("What the message is for, as the sender chose: normal unless set (system, request, topic, announcement, task, link).").Values("normal", "system", "request", "topic", "announcement", "task", "link").Default("normal").Immutable(),
		// text, not jsonb, on PostgreSQL: the server sends []byte arguments
		// in binary (lib/pq's binary_parameters, one round trip per
		// statement), which text accepts and jsonb does not; json would, but
		// it has no equality operator for ent's SELECT DISTINCT. Parts are
		// never queried inside, so jsonb's operators buy nothing.
		field.JSON("parts", []schematype.MessagePart{}).SchemaType(jsonColumn).Annotations(entgql.Skip()),
		field.Int("quote_id").Comment("The id of the message this one quotes; null for none.").Optional().Nillable().Immutable(),
		field.String("client_id").Optional().Nillable().MaxLen(64).Immutable().Annotations(entgql.Skip()).
			Comment("Idempotency key chosen by the sending client."),
		field.Time("revoked_at").Comment("When the sender revoked the message (its content is then gone); null unless revoked.").Optional().Nillable(),
		field.Time("deleted_at").Optional().Nillable().Comment("Deleted for everyone."),
		field.Time("edited_at").Optional().Nillable().Comment("When its sender last edited it; null unless edited. Its earlier versions are its edits."),
		field.Int("thread_id").Optional().Nillable().Immutable().
			Comment("The id of the root message of the thread this message replies in; null for a message of the main history."),
		field.Time("reacted_at").Optional().Nillable().Annotations(entgql.Skip()).
			Comment("When its reactions last changed. Writing it first serialises the reactions to one message, so that the cap of distinct emoji holds under concurrent reactions."),
	}
}

// Edges of the Message.
func (Message) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("conversation", Conversation.Type).Comment("The conversation the message was sent in.").Ref("messages").Field("conversation_id").Unique().Required().Immutable(),
		edge.To("sender", User.Type).Comment("The sender; null for a system message.").Field("sender_id").Unique().Immutable(),
		// quoted_by/quote is one-to-many, as replies/thread_root: a unique To
		// edge of a type to itself, without its From, is a two-way
		// one-to-one, which wrote the quoting message's id into the quoted
		// one and refused a second quote of it.
		edge.To("quoted_by", Message.Type).Annotations(entgql.Skip()).
			Comment("The messages that quote this one.").
			From("quote").Comment("The quoted message; null for none, or when the viewer may not see it.").
			Field("quote_id").Unique().Immutable(),
		// replies/thread_root is one-to-many: a unique To edge of a type to
		// itself, without its From, would be a two-way one-to-one.
		edge.To("replies", Message.Type).Annotations(entgql.Skip()).
			Comment("The replies in this message's thread; threadMessages pages them.").
			From("thread_root").Comment("The root message of the thread this one replies in; null for a message of the main history, or when the viewer may not see the root.").
			Field("thread_id").Unique().Immutable(),
		edge.To("hidden_for", User.Type).Annotations(entgql.Skip()).
			Comment("Users who deleted this message for themselves."),
		edge.To("edits", MessageEdit.Type).Comment("The message's earlier versions, oldest first; empty unless it was edited.").
			Annotations(entgql.RelayConnection(), entsql.OnDelete(entsql.Cascade)),
		edge.To("reactions", MessageReaction.Type).Annotations(entgql.Skip(), entsql.OnDelete(entsql.Cascade)).
			Comment("Every user's reactions; Message.reactions groups them by emoji."),
	}
}

// Indexes of the Message.
func (Message) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("conversation_id", "seq").Unique(),
		index.Fields("sender_id", "client_id").Unique(),
		index.Fields("thread_id", "seq"),
	}
}

// Mixin of the Message.
func (Message) Mixin() []ent.Mixin { return []ent.Mixin{CreatedMixin{}} }

// Annotations of the Message.
func (Message) Annotations() []schema.Annotation {
	return []schema.Annotation{schema.Comment("A message of a conversation, numbered by seq within it. A revoked message keeps its place with its content gone; one deleted for everyone leaves the history."), entgql.RelayConnection()}
}

// File is one stored upload; the bytes live in the storage backend under key.
type File struct{ ent.Schema }

// Fields of the File.
func (File) Fields() []ent.Field {
	return []ent.Field{
		field.Int("owner_id").Comment("The id of the user who uploaded the file.").Immutable(),
		field.Enum("kind").Comment("What the file was uploaded as: avatar, image, voice or file. It decides its checks and size limit.").Values("avatar", "image", "voice", "file").Immutable(),
		field.String("name").Comment("The file's name as uploaded, made safe: at most 255 bytes, no path.").MaxLen(255).Immutable().Comment("Original file name."),
		field.String("content_type").Comment("The media type the server found in the content (image/png), not the one the client declared.").MaxLen(128).Immutable(),
		field.Int64("size").Comment("The size in bytes.").Immutable(),
		field.String("sha256").Comment("The SHA-256 of the content, in hex.").MaxLen(64).Immutable(),
		field.String("storage_key").MaxLen(255).Immutable().Annotations(entgql.Skip()),
		field.Bool("public").Comment("True for avatars, which anyone may read; message files are readable by the conversation's members only.").Default(false).Comment("Avatars are public; message files are readable by the conversation's members."),
		field.Int("conversation_id").Comment("The id of the conversation the file was sent in, whose members may read it; null until sent.").Optional().Nillable().
			Comment("The conversation the file was sent in: its members may read it."),
		field.Int64("seq").Optional().Nillable().Annotations(entgql.Skip()).
			Comment("The seq of the first message that sent it in its conversation: a member sees the file from his visibility floor on, as he sees that message."),
	}
}

// Edges of the File.
func (File) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("owner", User.Type).Comment("The user who uploaded the file.").Ref("files").Field("owner_id").Unique().Required().Immutable(),
		edge.To("conversation", Conversation.Type).Comment("The conversation the file was sent in; null until sent.").Field("conversation_id").Unique(),
	}
}

// Indexes of the File.
func (File) Indexes() []ent.Index {
	return []ent.Index{index.Fields("owner_id", "sha256")}
}

// Mixin of the File.
func (File) Mixin() []ent.Mixin { return []ent.Mixin{CreatedMixin{}} }

// Annotations of the File.
func (File) Annotations() []schema.Annotation {
	return []schema.Annotation{schema.Comment("An uploaded file. Its bytes are served at url; avatars are public, other files readable by their owner and the members of the conversation they were sent in.")}
}

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
