// Package rule holds the privacy rules that ent/schema/policy.go composes into
// each entity's policy. Read rules are filters: they add a WHERE clause keyed
// on the viewer to every query, so node(id:), nested edges and subscriptions
// can only load what the viewer may see. Write rules check who is acting;
// business rules (a pending application, a manager's role) live in the domain
// packages that call ent.
package rule

import (
	"context"
	"fmt"
	"slices"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/friendship"
	"github.com/parley-im/parley/ent/notice"
	"github.com/parley-im/parley/ent/predicate"
	"github.com/parley-im/parley/ent/privacy"
	"github.com/parley-im/parley/ent/project"
	"github.com/parley-im/parley/ent/projectinvite"
	"github.com/parley-im/parley/ent/projectmember"
	"github.com/parley-im/parley/ent/text"
	"github.com/parley-im/parley/ent/viewer"
)

// AllowIfSystem lets internal work through (see viewer.SystemContext).
func AllowIfSystem() privacy.QueryMutationRule {
	return privacy.ContextQueryMutationRule(func(ctx context.Context) error {
		if v := viewerOf(ctx); v != nil && v.System {
			return privacy.Allow
		}
		return privacy.Skip
	})
}

// ErrNoViewer is the denial of an anonymous request; the API answers it
// with UNAUTHENTICATED, whether or not the object exists.
var ErrNoViewer = fmt.Errorf("%w: viewer is not signed in", privacy.Deny)

// DenyIfNoViewer refuses anonymous requests; it comes first in every policy
// that has no public part.
func DenyIfNoViewer() privacy.QueryMutationRule {
	return privacy.ContextQueryMutationRule(func(ctx context.Context) error {
		if v := viewerOf(ctx); v == nil || v.UserID == 0 {
			return ErrNoViewer
		}
		return privacy.Skip
	})
}

// AllowIfAdmin lets administrators through.
func AllowIfAdmin() privacy.QueryMutationRule {
	return privacy.ContextQueryMutationRule(func(ctx context.Context) error {
		if v := viewerOf(ctx); v != nil && v.Admin {
			return privacy.Allow
		}
		return privacy.Skip
	})
}

// AllowReads makes an entity's rows public (user profiles, group and room
// cards): the fields that must stay private are not in the GraphQL type.
func AllowReads() privacy.QueryRule {
	return privacy.QueryRuleFunc(func(context.Context, ent.Query) error { return privacy.Allow })
}

// DenyAll closes what no rule before it opened.
func DenyAll() privacy.QueryMutationRule { return privacy.AlwaysDenyRule() }

// FilterBy builds a rule that restricts queries, updates and deletes of one
// entity to the rows that apply selects for the viewer uid. F is the entity's
// generated filter type (for example *ent.MessageFilter).
func FilterBy[F privacy.Filter](apply func(f F, uid int)) privacy.QueryMutationRule {
	return privacy.FilterFunc(func(ctx context.Context, f privacy.Filter) error {
		tf, ok := f.(F)
		if !ok {
			return privacy.Denyf("unexpected filter type %T", f)
		}
		apply(tf, viewer.UserID(ctx)) // 0 for anonymous reads of public entities
		return privacy.Skip
	})
}

// OnCreate applies rule to create mutations only.
func OnCreate(rule privacy.MutationRule) privacy.MutationRule {
	return privacy.OnMutationOperation(rule, ent.OpCreate)
}

// OnChange applies rule to updates and deletes only.
func OnChange(rule privacy.MutationRule) privacy.MutationRule {
	return privacy.OnMutationOperation(rule, ent.OpUpdate|ent.OpUpdateOne|ent.OpDelete|ent.OpDeleteOne)
}

// IDGetter reads an int field that a mutation sets.
type IDGetter func(m ent.Mutation) (int, bool)

// Field reads the int column name from a mutation.
func Field(name string) IDGetter {
	return func(m ent.Mutation) (int, bool) {
		v, ok := m.Field(name)
		id, isInt := v.(int)
		return id, ok && isInt
	}
}

// Check decides whether viewer uid may create m, whose field (read by the
// rule's IDGetter) holds id. Checks look rows up as the system, so that what
// the viewer cannot see does not change the answer.
type Check func(ctx context.Context, m ent.Mutation, uid, id int) (bool, error)

// AllowCreateIf lets a create through when check approves it, and denies it
// otherwise.
func AllowCreateIf(field IDGetter, check Check) privacy.MutationRule {
	return OnCreate(privacy.MutationRuleFunc(func(ctx context.Context, m ent.Mutation) error {
		id, ok := field(m)
		if !ok {
			return privacy.Denyf("%s create without its owner", m.Type())
		}
		allowed, err := check(viewer.SystemContext(ctx), m, viewer.UserID(ctx), id)
		switch {
		case err != nil:
			return err
		case allowed:
			return privacy.Allow
		}
		return privacy.Denyf("viewer may not create %s", m.Type())
	}))
}

// IsViewer approves a create whose field is the viewer himself.
func IsViewer(_ context.Context, _ ent.Mutation, uid, id int) (bool, error) { return uid == id, nil }

// DenyFieldsUnlessAdmin refuses a mutation that sets any of fields unless
// the viewer is an admin: a user edits his own profile, but never his role,
// account state or membership.
func DenyFieldsUnlessAdmin(fields ...string) privacy.MutationRule {
	return privacy.MutationRuleFunc(func(ctx context.Context, m ent.Mutation) error {
		if v := viewerOf(ctx); v != nil && v.Admin {
			return privacy.Skip
		}
		for _, f := range fields {
			if _, set := m.Field(f); set {
				return privacy.Denyf("only admins change %s", f)
			}
		}
		return privacy.Skip
	})
}

// IsConsentedFriendship approves a friendship row between the viewer and
// another user once one of them agreed to the other's friend application,
// so that no code path can make someone a friend (and see his contact
// fields) without his consent.
func IsConsentedFriendship(ctx context.Context, m ent.Mutation, uid, userID int) (bool, error) {
	friendID, _ := Field("friend_id")(m)
	other := friendID
	switch uid {
	case userID:
	case friendID:
		other = userID
	default:
		return false, nil
	}
	return clientOf(m).Notice.Query().Where(
		notice.TypeEQ(notice.TypeFriendApply), notice.OperationEQ(notice.OperationAgreed),
		notice.Or(
			notice.And(notice.FromID(uid), notice.ToID(other)),
			notice.And(notice.FromID(other), notice.ToID(uid)),
		),
	).Exist(ctx)
}

// IsOwnUnsettledNotice approves a notice the viewer sends in his own name
// (fromID): not a system notice, and not settled, so that a request's
// agreement or refusal only ever comes from its recipient.
func IsOwnUnsettledNotice(_ context.Context, m ent.Mutation, uid, fromID int) (bool, error) {
	if fromID != uid {
		return false, nil
	}
	if t, ok := m.Field("type"); ok && t == notice.TypeSystem {
		return false, nil
	}
	op, ok := m.Field("operation")
	return !ok || op == notice.OperationNone || op == notice.OperationNotOperated, nil
}

// IsProjectOwner approves the owner's writes into his project.
func IsProjectOwner(ctx context.Context, m ent.Mutation, uid, projectID int) (bool, error) {
	return clientOf(m).Project.Query().Where(project.ID(projectID), project.OwnerID(uid)).Exist(ctx)
}

// IsProjectOwnerOrInvited approves adding a project member: the owner adds
// anyone (himself at creation), an invitee adds himself on accepting, with
// the role of his pending invite and no other. The domain adds the member
// before it marks the invite accepted, so an invite lets its invitee in once.
func IsProjectOwnerOrInvited(ctx context.Context, m ent.Mutation, uid, projectID int) (bool, error) {
	if owner, err := IsProjectOwner(ctx, m, uid, projectID); owner || err != nil {
		return owner, err
	}
	if member, _ := Field("user_id")(m); member != uid {
		return false, nil
	}
	role, _ := m.Field("role")
	r, ok := role.(projectmember.Role)
	if !ok {
		return false, nil
	}
	return clientOf(m).ProjectInvite.Query().Where(
		projectinvite.ProjectID(projectID), projectinvite.InviteeID(uid),
		projectinvite.StatusEQ(projectinvite.StatusPending),
		projectinvite.RoleEQ(projectinvite.Role(r)),
	).Exist(ctx)
}

// IsProjectWriter approves the writes of a project's owner and annotators.
func IsProjectWriter(ctx context.Context, m ent.Mutation, uid, projectID int) (bool, error) {
	return clientOf(m).ProjectMember.Query().
		Where(ProjectWriter(uid), projectmember.ProjectID(projectID)).
		Exist(ctx)
}

// IsTextWriter approves mentions in the texts of projects the viewer writes.
func IsTextWriter(ctx context.Context, m ent.Mutation, uid, textID int) (bool, error) {
	return clientOf(m).Text.Query().
		Where(text.ID(textID), text.HasProjectWith(project.HasMembersWith(ProjectWriter(uid)))).
		Exist(ctx)
}

// ProjectWriter selects uid's memberships that may write.
func ProjectWriter(uid int) predicate.ProjectMember {
	return projectmember.And(projectmember.UserID(uid),
		projectmember.RoleIn(projectmember.RoleOwner, projectmember.RoleAnnotator))
}

// mutationClient is implemented by every generated mutation.
type mutationClient interface{ Client() *ent.Client }

func clientOf(m ent.Mutation) *ent.Client { return m.(mutationClient).Client() }

func viewerOf(ctx context.Context) *viewer.Viewer { return viewer.FromContext(ctx) }

// CanSeeContact reports whether the viewer of ctx may see the email and phone
// of user id: himself, his friends and admins. Strangers never see them,
// whatever path reads the user.
func CanSeeContact(ctx context.Context, c *ent.Client, id int) (bool, error) {
	seen, err := SeesContacts(ctx, c, []int{id})
	return seen[id], err
}

// SeesContacts is CanSeeContact for many users at once, in one query at
// most: the users among ids whose contact fields the viewer may see are
// true in the map.
func SeesContacts(ctx context.Context, c *ent.Client, ids []int) (map[int]bool, error) {
	out := make(map[int]bool, len(ids))
	v := viewerOf(ctx)
	switch {
	case v == nil:
		return out, nil
	case v.System || v.Admin:
		for _, id := range ids {
			out[id] = true
		}
		return out, nil
	case v.UserID == 0:
		return out, nil
	}
	friends, err := c.Friendship.Query().
		Where(friendship.UserID(v.UserID), friendship.FriendIDIn(ids...)).
		Select(friendship.FieldFriendID).All(viewer.SystemContext(ctx))
	if err != nil {
		return nil, err
	}
	for _, f := range friends {
		out[f.FriendID] = true
	}
	if slices.Contains(ids, v.UserID) {
		out[v.UserID] = true
	}
	return out, nil
}
