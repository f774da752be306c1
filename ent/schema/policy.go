package schema

// This file is the one place where Parley decides who may read and write each
// entity. Every query and mutation of the ent client passes through these
// policies, whatever path reached it: a resolver, node(id:), a nested edge or
// a subscription. Read policies filter rows by the viewer; write policies
// check the acting viewer. Business rules (a pending application, a manager's
// role, a mute) live in the domain packages, which run inside these bounds.

import (
	"context"
	"slices"

	"entgo.io/ent"
	"entgo.io/ent/entql"

	gen "github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/entity"
	"github.com/parley-im/parley/ent/privacy"
	"github.com/parley-im/parley/ent/project"
	"github.com/parley-im/parley/ent/projectinvite"
	"github.com/parley-im/parley/ent/projectmember"
	"github.com/parley-im/parley/ent/relationtype"
	"github.com/parley-im/parley/ent/rule"
	"github.com/parley-im/parley/ent/text"
	"github.com/parley-im/parley/ent/user"
	"github.com/parley-im/parley/ent/viewer"
)

// readPolicy is "signed in, then filtered".
func readPolicy(filter privacy.QueryMutationRule) privacy.QueryPolicy {
	return privacy.QueryPolicy{rule.AllowIfSystem(), rule.DenyIfNoViewer(), filter, privacy.AlwaysAllowRule()}
}

// writePolicy is "signed in, creates checked, updates and deletes filtered
// (or checked)".
func writePolicy(create, change privacy.MutationRule) privacy.MutationPolicy {
	return privacy.MutationPolicy{rule.AllowIfSystem(), rule.DenyIfNoViewer(), create, change, privacy.AlwaysAllowRule()}
}

// systemOnly is for the server's own rows: no viewer reads or writes them,
// only the server's code as the system.
func systemOnly() ent.Policy {
	return privacy.Policy{
		Query:    privacy.QueryPolicy{rule.AllowIfSystem(), privacy.AlwaysDenyRule()},
		Mutation: privacy.MutationPolicy{rule.AllowIfSystem(), privacy.AlwaysDenyRule()},
	}
}

// publicReads is for cards anyone may see, signed in or not.
func publicReads() privacy.QueryPolicy {
	return privacy.QueryPolicy{rule.AllowReads()}
}

// Policy of the User: profiles are public (contact fields are not in the
// GraphQL type); a user edits himself, admins edit anyone, members open
// sub-users.
func (User) Policy() ent.Policy {
	return privacy.Policy{
		Query: publicReads(),
		Mutation: privacy.MutationPolicy{
			rule.AllowIfSystem(), rule.DenyIfNoViewer(), rule.AllowIfAdmin(),
			privacy.OnMutationOperation(rule.DenyFieldsUnlessAdmin("role", "account_state", "is_member"), gen.OpUpdate|gen.OpUpdateOne),
			rule.OnCreate(plainAccount()),
			rule.AllowCreateIf(rule.Field("parent_id"), rule.IsViewer),
			rule.FilterBy(func(f *gen.UserFilter, uid int) { f.WhereID(entql.IntEQ(uid)) }),
			privacy.AlwaysAllowRule(),
		},
	}
}

// plainAccount refuses a non-admin's new account (a sub-user) that would
// start as anything but a plain, normal, non-member user: the defaults are
// set before the policy runs, so the values are checked, not their presence.
func plainAccount() privacy.MutationRule {
	return privacy.UserMutationRuleFunc(func(ctx context.Context, m *gen.UserMutation) error {
		if r, ok := m.Role(); ok && r != user.RoleUser {
			return privacy.Denyf("only admins create admins")
		}
		if st, ok := m.AccountState(); ok && st != user.AccountStateNormal {
			return privacy.Denyf("only admins create accounts in state %s", st)
		}
		if member, ok := m.IsMember(); ok && member {
			return privacy.Denyf("only admins create members")
		}
		return privacy.Skip
	})
}

// Policy of the Session: a user sees and revokes his own devices; sessions
// are opened by the sign-in code only.
func (Session) Policy() ent.Policy {
	mine := rule.FilterBy(func(f *gen.SessionFilter, uid int) { f.WhereUserID(entql.IntEQ(uid)) })
	return privacy.Policy{
		Query:    readPolicy(mine),
		Mutation: writePolicy(rule.OnCreate(privacy.AlwaysDenyRule()), mine),
	}
}

// Policy of the Friendship: each side reads and edits his own row; a pair
// is created only with consent (an agreed application between the two) or
// by an admin, and either side may delete it.
func (Friendship) Policy() ent.Policy {
	mine := rule.FilterBy(func(f *gen.FriendshipFilter, uid int) { f.WhereUserID(entql.IntEQ(uid)) })
	return privacy.Policy{
		Query: readPolicy(mine),
		Mutation: privacy.MutationPolicy{
			rule.AllowIfSystem(), rule.DenyIfNoViewer(), rule.AllowIfAdmin(),
			rule.AllowCreateIf(rule.Field("user_id"), rule.IsConsentedFriendship),
			privacy.OnMutationOperation(mine, gen.OpUpdate|gen.OpUpdateOne),
			rule.FilterBy(func(f *gen.FriendshipFilter, uid int) {
				f.Where(entql.Or(entql.FieldEQ("user_id", uid), entql.FieldEQ("friend_id", uid)))
			}),
			privacy.AlwaysAllowRule(),
		},
	}
}

// Policy of the Notice: the sender and the recipient read it. A user sends
// notices in his own name only, never a system notice and never one already
// settled; only the recipient operates it or marks it read (a sender may
// renew his pending request, no more), so a request's agreement, which
// rule.IsConsentedFriendship trusts, is always the recipient's.
func (Notice) Policy() ent.Policy {
	both := rule.FilterBy(func(f *gen.NoticeFilter, uid int) {
		f.Where(entql.Or(entql.FieldEQ("to_id", uid), entql.FieldEQ("from_id", uid)))
	})
	recipientOnly := privacy.NoticeMutationRuleFunc(func(ctx context.Context, m *gen.NoticeMutation) error {
		_, operated := m.Operation()
		_, read := m.Read()
		if operated || read {
			m.Filter().WhereToID(entql.IntEQ(viewer.UserID(ctx)))
		}
		return privacy.Skip
	})
	return privacy.Policy{
		Query: readPolicy(both),
		Mutation: privacy.MutationPolicy{
			rule.AllowIfSystem(), rule.DenyIfNoViewer(),
			rule.AllowCreateIf(rule.Field("from_id"), rule.IsOwnUnsettledNotice),
			privacy.OnMutationOperation(recipientOnly, gen.OpUpdate|gen.OpUpdateOne),
			both, privacy.AlwaysAllowRule(),
		},
	}
}

// Policy of the Group: group cards are public (anyone reads a group's info
// without signing in). The viewer creates a group he owns, on a fresh group
// conversation; the owner and managers edit it; only the owner hands it over
// or dissolves it (rule.GroupWrites).
func (Group) Policy() ent.Policy {
	return privacy.Policy{
		Query:    publicReads(),
		Mutation: writePolicy(rule.AllowCreateIf(rule.Field("owner_id"), rule.IsNewGroup), rule.GroupWrites()),
	}
}

// Policy of the GroupMember: member lists are public like the group card.
// Rows start as plain members: the owner's own at creation, the owner and
// managers add anyone, members invite unless the group is invite-only, a
// user joins an open group or with a valid join link
// (rule.IsGroupMemberOrJoining). Changes are checked field by field
// (rule.GroupMemberWrites): remark and alias are the member's own, roles the
// owner's, mutes and removals reach the rows below the viewer, and anyone
// leaves.
func (GroupMember) Policy() ent.Policy {
	return privacy.Policy{
		Query:    publicReads(),
		Mutation: writePolicy(rule.AllowCreateIf(rule.Field("group_id"), rule.IsGroupMemberOrJoining), rule.GroupMemberWrites()),
	}
}

// Policy of the Room: rooms are public; the viewer creates a room he owns
// on a fresh room conversation; the owner edits and deletes his.
func (Room) Policy() ent.Policy {
	return privacy.Policy{
		Query: publicReads(),
		Mutation: writePolicy(
			rule.AllowCreateIf(rule.Field("owner_id"), rule.IsNewRoom),
			rule.FilterBy(func(f *gen.RoomFilter, uid int) { f.WhereOwnerID(entql.IntEQ(uid)) }),
		),
	}
}

// Policy of the Conversation: rooms and the conversations the viewer is an
// active member of (rule.VisibleConversations).
func (Conversation) Policy() ent.Policy {
	return privacy.Policy{
		Query:    readPolicy(rule.VisibleConversations()),
		Mutation: writePolicy(rule.OnCreate(privacy.AlwaysAllowRule()), rule.VisibleConversations()),
	}
}

// Policy of the ConversationMember: the member rows of visible conversations;
// members add others (invites) and update each other's list state on send.
func (ConversationMember) Policy() ent.Policy {
	return privacy.Policy{
		Query: readPolicy(rule.MembersOfVisibleConversations()),
		Mutation: writePolicy(
			rule.AllowCreateIf(rule.Field("conversation_id"), rule.IsConversationMemberOrJoining),
			rule.MembersOfVisibleConversations(),
		),
	}
}

// Policy of the Message: what rule.VisibleMessage admits (the messages of
// the viewer's conversations above his visibility floor, and of rooms, that
// he did not delete for himself; ent/rule/visibility.go); a member sends as
// himself, and acts on the messages in his reach.
func (Message) Policy() ent.Policy {
	return privacy.Policy{
		Query: readPolicy(rule.VisibleMessages()),
		Mutation: writePolicy(
			rule.AllowCreateIf(rule.Field("conversation_id"), rule.IsActiveConversationMember),
			rule.VisibleMessages(),
		),
	}
}

// Policy of the File: public files (avatars), the viewer's own, and the files
// sent in conversations he reads, from his visibility floor on, as the
// messages that sent them (rule.VisibleFile).
func (File) Policy() ent.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{
			rule.AllowIfSystem(),
			rule.VisibleFiles(),
			privacy.AlwaysAllowRule(),
		},
		Mutation: writePolicy(
			rule.AllowCreateIf(rule.Field("owner_id"), rule.IsViewer),
			rule.FilterBy(func(f *gen.FileFilter, uid int) { f.WhereOwnerID(entql.IntEQ(uid)) }),
		),
	}
}

// Policy of the CannedReply: private to its owner.
func (CannedReply) Policy() ent.Policy {
	mine := rule.FilterBy(func(f *gen.CannedReplyFilter, uid int) { f.WhereOwnerID(entql.IntEQ(uid)) })
	return privacy.Policy{
		Query:    readPolicy(mine),
		Mutation: writePolicy(rule.AllowCreateIf(rule.Field("owner_id"), rule.IsViewer), mine),
	}
}

// Policy of the Setting: public settings for everyone, the rest for admins;
// only admins write.
func (Setting) Policy() ent.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{
			rule.AllowIfSystem(), rule.AllowIfAdmin(),
			rule.FilterBy(func(f *gen.SettingFilter, _ int) { f.WherePublic(entql.BoolEQ(true)) }),
			privacy.AlwaysAllowRule(),
		},
		Mutation: privacy.MutationPolicy{rule.AllowIfSystem(), rule.AllowIfAdmin(), privacy.AlwaysDenyRule()},
	}
}

// Policy of the VerificationCode: internal only.
func (VerificationCode) Policy() ent.Policy {
	return systemOnly()
}

// Policy of the Throttle: internal bookkeeping of the sign-in limits and
// of the rooms' online count announcements.
func (Throttle) Policy() ent.Policy {
	return systemOnly()
}

// Policy of the Presence: internal bookkeeping of the presence tracker.
func (Presence) Policy() ent.Policy {
	return systemOnly()
}

// Policy of the Event: the log is written by domain code inside the viewer's
// transaction and read only by the hub, whose subscribers reload every
// subject through their own viewer.
func (Event) Policy() ent.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{rule.AllowIfSystem(), privacy.AlwaysDenyRule()},
		Mutation: privacy.MutationPolicy{
			rule.AllowIfSystem(), rule.DenyIfNoViewer(),
			rule.OnCreate(privacy.AlwaysAllowRule()), privacy.AlwaysDenyRule(),
		},
	}
}

// Policy of the Project: its members read it, and so does a user invited
// into it while the invite is pending (he must see what he is asked to join;
// the project's contents stay members-only); its owner edits and deletes it.
func (Project) Policy() ent.Policy {
	return privacy.Policy{
		Query: readPolicy(rule.FilterBy(func(f *gen.ProjectFilter, uid int) {
			f.Where(entql.Or(
				entql.HasEdgeWith("members", entql.FieldEQ("user_id", uid)),
				entql.HasEdgeWith("invites", entql.FieldEQ("invitee_id", uid),
					entql.FieldEQ("status", projectinvite.StatusPending.String())),
			))
		})),
		Mutation: writePolicy(
			rule.AllowCreateIf(rule.Field("owner_id"), rule.IsViewer),
			rule.FilterBy(func(f *gen.ProjectFilter, uid int) { f.WhereOwnerID(entql.IntEQ(uid)) }),
		),
	}
}

// Policy of the ProjectMember: members see each other; the owner adds and
// manages members (only he changes roles), an invitee adds himself with the
// role he was invited to, a member leaves (deletes his own row).
func (ProjectMember) Policy() ent.Policy {
	ownedProject := func(uid int) entql.P { return entql.HasEdgeWith("project", entql.FieldEQ("owner_id", uid)) }
	return privacy.Policy{
		Query: readPolicy(rule.FilterBy(func(f *gen.ProjectMemberFilter, uid int) {
			f.WhereHasProjectWith(project.HasMembersWith(projectmember.UserID(uid)))
		})),
		Mutation: privacy.MutationPolicy{
			rule.AllowIfSystem(), rule.DenyIfNoViewer(),
			rule.AllowCreateIf(rule.Field("project_id"), rule.IsProjectOwnerOrInvited),
			privacy.OnMutationOperation(rule.FilterBy(func(f *gen.ProjectMemberFilter, uid int) {
				f.Where(ownedProject(uid))
			}), gen.OpUpdate|gen.OpUpdateOne),
			privacy.OnMutationOperation(rule.FilterBy(func(f *gen.ProjectMemberFilter, uid int) {
				f.Where(entql.Or(entql.FieldEQ("user_id", uid), ownedProject(uid)))
			}), gen.OpDelete|gen.OpDeleteOne),
			privacy.AlwaysAllowRule(),
		},
	}
}

// Policy of the ProjectInvite: the invitee and the project's owner.
func (ProjectInvite) Policy() ent.Policy {
	involved := rule.FilterBy(func(f *gen.ProjectInviteFilter, uid int) {
		f.Where(entql.Or(
			entql.FieldEQ("invitee_id", uid),
			entql.HasEdgeWith("project", entql.FieldEQ("owner_id", uid)),
		))
	})
	// The invitee only answers a pending invite (accepted or refused); its
	// role, a renewal and anything else are the owner's.
	answers := privacy.ProjectInviteMutationRuleFunc(func(ctx context.Context, m *gen.ProjectInviteMutation) error {
		uid := viewer.UserID(ctx)
		owner := entql.HasEdgeWith("project", entql.FieldEQ("owner_id", uid))
		status, answered := m.Status()
		onlyStatus := true
		for _, f := range m.Fields() {
			onlyStatus = onlyStatus && (f == projectinvite.FieldStatus || f == projectinvite.FieldUpdatedAt)
		}
		if answered && onlyStatus && (status == projectinvite.StatusAccepted || status == projectinvite.StatusRefused) {
			m.Filter().Where(entql.Or(owner, entql.And(entql.FieldEQ("invitee_id", uid), entql.FieldEQ("status", projectinvite.StatusPending.String()))))
			return privacy.Skip
		}
		m.Filter().Where(owner)
		return privacy.Skip
	})
	return privacy.Policy{
		Query: readPolicy(involved),
		Mutation: privacy.MutationPolicy{
			rule.AllowIfSystem(), rule.DenyIfNoViewer(),
			rule.AllowCreateIf(rule.Field("project_id"), rule.IsProjectOwner),
			privacy.OnMutationOperation(answers, gen.OpUpdate|gen.OpUpdateOne),
			involved, privacy.AlwaysAllowRule(),
		},
	}
}

// projectContent is the policy of everything inside a project: members read,
// owners and annotators write.
func projectContent[F privacy.Filter](byProject func(F, entql.P)) ent.Policy {
	return privacy.Policy{
		Query: readPolicy(rule.FilterBy(func(f F, uid int) {
			byProject(f, entql.HasEdgeWith("members", entql.FieldEQ("user_id", uid)))
		})),
		Mutation: writePolicy(
			rule.AllowCreateIf(rule.Field("project_id"), rule.IsProjectWriter),
			rule.FilterBy(func(f F, uid int) {
				byProject(f, entql.HasEdgeWith("members",
					entql.FieldEQ("user_id", uid), entql.FieldIn("role", "owner", "annotator")))
			}),
		),
	}
}

// Policy of the Text.
func (Text) Policy() ent.Policy {
	return projectContent(func(f *gen.TextFilter, p entql.P) { f.Where(entql.HasEdgeWith("project", p)) })
}

// Policy of the Entity.
func (Entity) Policy() ent.Policy {
	return projectContent(func(f *gen.EntityFilter, p entql.P) { f.Where(entql.HasEdgeWith("project", p)) })
}

// Policy of the RelationType.
func (RelationType) Policy() ent.Policy {
	return projectContent(func(f *gen.RelationTypeFilter, p entql.P) { f.Where(entql.HasEdgeWith("project", p)) })
}

// Policy of the Relation.
func (Relation) Policy() ent.Policy {
	p := projectContent(func(f *gen.RelationFilter, p entql.P) { f.Where(entql.HasEdgeWith("project", p)) }).(privacy.Policy)
	p.Mutation = append(privacy.MutationPolicy{rule.AllowIfSystem(), rule.OnCreate(privacy.RelationMutationRuleFunc(relationWithin))}, p.Mutation...)
	return p
}

// relationWithin refuses a relation whose ends or type lie in another
// project than its own, so that no write reaches rows its viewer may not
// read.
func relationWithin(ctx context.Context, m *gen.RelationMutation) error {
	projectID, _ := m.ProjectID()
	source, _ := m.SourceID()
	target, _ := m.TargetID()
	typeID, _ := m.TypeID()
	sys := viewer.SystemContext(ctx)
	ends, err := m.Client().Entity.Query().Where(entity.IDIn(source, target), entity.ProjectID(projectID)).Count(sys)
	if err != nil {
		return err
	}
	typed, err := m.Client().RelationType.Query().Where(relationtype.ID(typeID), relationtype.ProjectID(projectID)).Exist(sys)
	switch {
	case err != nil:
		return err
	case !typed || ends < len(slices.Compact([]int{min(source, target), max(source, target)})):
		return privacy.Denyf("a relation joins entities of its own project with a type of its own project")
	}
	return privacy.Skip
}

// mentionWithin refuses a mention of an entity of another project than its
// text's.
func mentionWithin(ctx context.Context, m *gen.MentionMutation) error {
	textID, _ := m.TextID()
	entityID, _ := m.EntityID()
	same, err := m.Client().Entity.Query().
		Where(entity.ID(entityID), entity.HasProjectWith(project.HasTextsWith(text.ID(textID)))).
		Exist(viewer.SystemContext(ctx))
	switch {
	case err != nil:
		return err
	case !same:
		return privacy.Denyf("a mention is of an entity of its text's project")
	}
	return privacy.Skip
}

// Policy of the Mention: a mention belongs to its text's project.
func (Mention) Policy() ent.Policy {
	return privacy.Policy{
		Query: readPolicy(rule.FilterBy(func(f *gen.MentionFilter, uid int) {
			f.WhereHasTextWith(text.HasProjectWith(project.HasMembersWith(projectmember.UserID(uid))))
		})),
		Mutation: privacy.MutationPolicy{
			rule.AllowIfSystem(), rule.DenyIfNoViewer(),
			rule.OnCreate(privacy.MentionMutationRuleFunc(mentionWithin)),
			rule.AllowCreateIf(rule.Field("text_id"), rule.IsTextWriter),
			rule.FilterBy(func(f *gen.MentionFilter, uid int) {
				f.WhereHasTextWith(text.HasProjectWith(project.HasMembersWith(rule.ProjectWriter(uid))))
			}),
			privacy.AlwaysAllowRule(),
		},
	}
}

// Policy of the MessageEdit: an earlier version is seen by whoever sees its
// message (rule.VisibleMessageEdits); the sender keeps the versions of his
// own messages as he edits them; they never change, and only the system
// removes them (with the message's content, on revoke and delete).
func (MessageEdit) Policy() ent.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{rule.AllowIfSystem(), rule.DenyIfNoViewer(), rule.VisibleMessageEdits(), privacy.AlwaysAllowRule()},
		Mutation: privacy.MutationPolicy{
			rule.AllowIfSystem(), rule.DenyIfNoViewer(),
			rule.AllowCreateIf(rule.Field("message_id"), rule.IsOwnVisibleMessage),
			privacy.AlwaysDenyRule(),
		},
	}
}

// Policy of the MessageReaction: reactions are seen by whoever sees their
// message (rule.VisibleMessageReactions); a user reacts as himself to a
// message he sees, and removes his own reactions only.
func (MessageReaction) Policy() ent.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{rule.AllowIfSystem(), rule.DenyIfNoViewer(), rule.VisibleMessageReactions(), privacy.AlwaysAllowRule()},
		Mutation: writePolicy(
			rule.AllowCreateIf(rule.Field("message_id"), rule.IsOwnReactionToVisibleMessage),
			rule.FilterBy(func(f *gen.MessageReactionFilter, uid int) { f.WhereUserID(entql.IntEQ(uid)) }),
		),
	}
}
