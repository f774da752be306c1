package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// User is one account. The five seed apps keyed users by email, phone, uid or
// user id; Parley unifies them: a unique username to sign in with, optional
// unique email and phone, and a numeric public id (the seed's "nid").
type User struct{ ent.Schema }

// Fields of the User.
func (User) Fields() []ent.Field {
	return []ent.Field{
		field.String("username").Comment("The unique name to sign in with and be found by: 3 to 32 characters, a letter then letters, digits or underscores.").NotEmpty().MaxLen(32).Unique().
			Annotations(entgql.OrderField("USERNAME")),
		field.String("nickname").Comment("The name shown to others, at most 64 characters; empty for none (show the username).").MaxRuneLen(64).Default("").
			Annotations(entgql.OrderField("NICKNAME")),
		// email and phone are exposed through resolvers that hide them from strangers.
		field.String("email").Optional().Nillable().Unique().MaxLen(254).
			Annotations(entgql.Skip()),
		field.String("phone").Optional().Nillable().Unique().MaxLen(20).
			Annotations(entgql.Skip()),
		field.String("password_hash").Sensitive().
			Annotations(entgql.Skip()),
		field.String("avatar").Comment("The URL of the user's avatar image; empty for none.").Default("").MaxRuneLen(1024),
		field.String("sign").Default("").MaxRuneLen(256).
			Comment("A short bio the user writes about himself."),
		field.Enum("sex").Comment("unknown, male or female, as the user says.").Values("unknown", "male", "female").Default("unknown"),
		field.String("location").Comment("Where the user says he is, at most 128 characters; empty for nothing.").Default("").MaxRuneLen(128),
		field.Int64("public_id").Unique().Immutable().
			Comment("A numeric id shown to people, to find and add each other."),
		field.Bool("is_member").Default(false).
			Comment("Paid membership: members may open sub-users."),
		field.Enum("role").Comment("user, or admin (may manage users and settings).").Values("user", "admin").Default("user"),
		field.Enum("account_state").Values("normal", "disabled", "deleted").Default("normal").
			Comment("normal; disabled (an admin turned it off: no sign-in); or deleted (the account was deleted and stays as an anonymous husk, so that conversations keep their sender)."),
		field.Time("last_seen_at").Optional().Nillable().
			Comment("When the user's last live connection closed."),
		field.Int("parent_id").Optional().Nillable().Immutable().
			Annotations(entgql.Skip()),
	}
}

// Edges of the User.
func (User) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("sub_users", User.Type).Annotations(entgql.Skip()).
			From("parent").Field("parent_id").Unique().Immutable().
			Annotations(entgql.Skip()),
		hiddenTo("friendships", Friendship.Type),
		hiddenTo("sessions", Session.Type),
		hiddenTo("group_memberships", GroupMember.Type),
		hiddenTo("conversation_memberships", ConversationMember.Type),
		hiddenTo("project_memberships", ProjectMember.Type),
		hiddenTo("canned_replies", CannedReply.Type),
		hiddenTo("files", File.Type),
		// hidden_messages makes Message.hidden_for many-to-many: each user
		// hides his own set of messages ("delete for me").
		edge.From("hidden_messages", Message.Type).Ref("hidden_for").
			Annotations(entgql.Skip()),
	}
}

// hiddenTo is an edge from the user kept out of the GraphQL schema: what it
// leads to (his sessions, memberships, files...) is read through the
// services and their own fields, not as a field of the user.
func hiddenTo(name string, t any) ent.Edge {
	return edge.To(name, t).Annotations(entgql.Skip())
}

// Mixin of the User.
func (User) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Annotations of the User.
func (User) Annotations() []schema.Annotation {
	return []schema.Annotation{schema.Comment("A person's account. Anyone signed in may see a user's public profile; email, phone and some details are shown only as each field says."), entgql.RelayConnection()}
}

// Indexes of the User.
func (User) Indexes() []ent.Index {
	return []ent.Index{index.Fields("nickname")}
}

// Session is one signed-in device. Access and refresh tokens name their
// session, so that logout revokes exactly that device and a password change
// revokes them all, without a token blocklist.
type Session struct{ ent.Schema }

// Fields of the Session.
func (Session) Fields() []ent.Field {
	return []ent.Field{
		field.Int("user_id").Immutable(),
		field.Int("refresh_generation").Default(0).
			Comment("Bumped by every refresh; an older refresh token is a replay and revokes the session."),
		field.Time("expires_at"),
		field.Time("revoked_at").Optional().Nillable(),
		field.String("user_agent").Default("").MaxLen(256),
		field.String("ip").Default("").MaxLen(64),
	}
}

// Edges of the Session.
func (Session) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("user", User.Type).Ref("sessions").Field("user_id").Unique().Required().Immutable(),
	}
}

// Mixin of the Session.
func (Session) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Annotations of the Session.
func (Session) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}

// Friendship is one side of a friendship: two rows per pair, so that each side
// keeps its own remark and pin.
type Friendship struct{ ent.Schema }

// Fields of the Friendship.
func (Friendship) Fields() []ent.Field {
	return []ent.Field{
		field.Int("user_id").Comment("The id of the user this side belongs to (the viewer, on his own friendships).").Immutable(),
		field.Int("friend_id").Comment("The id of the friend.").Immutable(),
		field.String("remark").Comment("The user's own name for his friend, at most 64 characters; only he sees it.").Default("").MaxRuneLen(64),
		field.Bool("pinned").Comment("Whether the user pinned this friend to the top of his contacts.").Default(false),
		// Kept by the social service (its resort), from pinned, the remark
		// and the friend's names, so that the friends connection pages in
		// the contact book's order on the database: a stored column is the
		// one thing a keyset cursor can order by.
		field.String("sort_key").Default("").
			Annotations(entgql.OrderField("PINNED_THEN_NAME"), entgql.Skip(entgql.SkipType)).
			Comment("Pinned first, then the pinyin-and-folded display name (social.SortKey), hex-encoded so that every collation orders it byte by byte; empty until computed."),
	}
}

// Edges of the Friendship.
func (Friendship) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("user", User.Type).Comment("The user this side belongs to.").Ref("friendships").Field("user_id").Unique().Required().Immutable(),
		edge.To("friend", User.Type).Comment("The friend.").Field("friend_id").Unique().Required().Immutable(),
	}
}

// Indexes of the Friendship.
func (Friendship) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("user_id", "friend_id").Unique(),
		index.Fields("user_id", "sort_key"), // one user's friends, in order
	}
}

// Mixin of the Friendship.
func (Friendship) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Annotations of the Friendship.
func (Friendship) Annotations() []schema.Annotation {
	return []schema.Annotation{schema.Comment("The viewer's side of a friendship with another user: his remark and pin for that friend."), entgql.RelayConnection()}
}

// Notice is one item of a user's inbox: friend applications and acceptances,
// group applications and invitations, project invites and system notices.
// Requests carry an operation state so that the recipient acts once.
type Notice struct{ ent.Schema }

// Fields of the Notice.
func (Notice) Fields() []ent.Field {
	return []ent.Field{
		field.Enum("type").Comment("What the notice is about: a friend application (friend_apply), its acceptance, a friend added or deleted, a group application, invitation, removal or dissolution, a project invite, a mention of the recipient in a message (mention), or a system message.").Values(
			"friend_apply", "friend_accepted", "friend_added", "friend_deleted",
			"group_apply", "group_invited", "group_kicked", "group_dissolved",
			"project_invite", "system", "mention",
		),
		field.Int("from_id").Comment("The id of the user it is from; null for a system notice.").Optional().Nillable().Immutable(),
		field.Int("to_id").Comment("The id of its recipient.").Immutable(),
		field.Int("group_id").Comment("The id of the group it is about; null when none.").Optional().Nillable(),
		field.Int("project_id").Comment("The id of the project it is about; null when none.").Optional().Nillable(),
		field.String("postscript").Comment("The sender's note, such as an application's message, at most 256 characters; empty for none.").Default("").MaxRuneLen(256),
		// Stored as text on PostgreSQL: see Message.parts.
		field.JSON("data", map[string]any{}).Optional().SchemaType(jsonColumn).
			Annotations(entgql.Skip()),
		// cancelled: a request nobody can answer any more, what it was
		// about being gone (the project an invite was for, the friendship an
		// agreed application made).
		field.Enum("operation").Comment("A request's state: not_operated (waiting for the recipient), agreed, refused, or cancelled (nobody can answer it any more); none for notices that ask nothing.").Values("not_operated", "agreed", "refused", "none", "cancelled").Default("none"),
		field.Bool("read").Comment("Whether the recipient marked it read.").Default(false),
	}
}

// Edges of the Notice.
func (Notice) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("from", User.Type).Comment("The user it is from; null for a system notice.").Field("from_id").Unique().Immutable(),
		edge.To("to", User.Type).Comment("Its recipient.").Field("to_id").Unique().Required().Immutable(),
		edge.To("group", Group.Type).Comment("The group it is about; null when none, or when the viewer may not see it.").Field("group_id").Unique(),
		edge.To("project", Project.Type).Comment("The project it is about; null when none, or when the viewer may not see it.").Field("project_id").Unique(),
	}
}

// Indexes of the Notice.
func (Notice) Indexes() []ent.Index {
	return []ent.Index{index.Fields("to_id", "type", "operation")}
}

// Mixin of the Notice.
func (Notice) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Annotations of the Notice.
func (Notice) Annotations() []schema.Annotation {
	return []schema.Annotation{schema.Comment("An item of the viewer's inbox: a friend or group application, an invitation, or what happened to a friendship, group or project. Requests carry an operation state so that the recipient answers once."), entgql.RelayConnection()}
}

// Presence counts one server instance's live connections of a user. A user is
// online while any instance holds a fresh row; instances refresh their rows
// while they run, so the rows of a crashed instance go stale and its users
// fall offline after the TTL.
type Presence struct{ ent.Schema }

// Fields of the Presence.
func (Presence) Fields() []ent.Field {
	return []ent.Field{
		field.Int("user_id").Immutable(),
		field.String("instance").MaxLen(64).Immutable(),
		field.Int("connections").Default(0),
		field.Time("seen_at"),
	}
}

// Indexes of the Presence.
func (Presence) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("user_id", "instance").Unique(),
		index.Fields("seen_at"),
	}
}

// Mixin of the Presence.
func (Presence) Mixin() []ent.Mixin { return []ent.Mixin{Internal{}} }

// CannedReply is one of a user's prepared replies: a welcome text sent to
// strangers, a quick reply, or an FAQ entry.
type CannedReply struct{ ent.Schema }

// Fields of the CannedReply.
func (CannedReply) Fields() []ent.Field {
	return []ent.Field{
		field.Int("owner_id").Comment("The id of the user who owns the reply; only he sees it.").Immutable(),
		field.Enum("type").Comment("welcome (sent to a stranger who starts a chat), quick_reply (picked by the owner while chatting) or faq.").Values("welcome", "quick_reply", "faq"),
		field.String("title").Comment("Its title in the owner's lists, 1 to 128 characters.").NotEmpty().MaxRuneLen(128),
		field.String("keyword").Comment("A word that finds it when typed, at most 64 characters; empty for none.").Default("").MaxRuneLen(64),
		field.String("content").Comment("The text sent, 1 to 4096 characters.").NotEmpty().MaxRuneLen(4096),
		field.Bool("visible").Comment("False for a reply kept but not offered.").Default(true),
		field.Int("weight").Comment("Sort weight within its type: higher comes first.").Default(0).Annotations(entgql.OrderField("WEIGHT")),
		field.Bool("is_default").Comment("The welcome reply sent by default; at most one per owner and type.").Default(false),
	}
}

// Edges of the CannedReply.
func (CannedReply) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("owner", User.Type).Comment("The user who owns the reply.").Ref("canned_replies").Field("owner_id").Unique().Required().Immutable(),
	}
}

// Indexes of the CannedReply.
func (CannedReply) Indexes() []ent.Index {
	return []ent.Index{index.Fields("owner_id", "type")}
}

// Mixin of the CannedReply.
func (CannedReply) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Annotations of the CannedReply.
func (CannedReply) Annotations() []schema.Annotation {
	return []schema.Annotation{schema.Comment("One of the viewer's prepared replies: a welcome text sent to strangers, a quick reply, or an FAQ entry. Only its owner sees it.")}
}
