// Package annotation holds the rules of textMark's collaborative knowledge
// graph: projects with their members and invites, texts, entities
// and their mentions, relation types and relations, the graph view, export
// and import, and the events that carry every change to the project's
// subscribers.
//
// Who may read or write what is decided by the privacy policies of
// ent/schema/policy.go, never here. This package runs every query and every
// write as the viewer and turns the policies' answers into API errors:
//
//   - an object the viewer cannot see is NOT_FOUND, exactly like one that
//     does not exist (each operation first loads its object as the viewer);
//   - a write the policy refuses on an object the viewer could load is
//     FORBIDDEN, with the reason of the role he lacks (READ_ONLY_ROLE for a
//     viewer-role member, OWNER_ONLY for the owner's operations).
//
// Every write runs in the mutation's transaction and appends its events on
// the project's topic (eventlog.ProjectTopic) in that transaction, so that a
// change and its event commit together. Deletion kinds end in ".deleted":
// subscribers receive them with subjectId and no node.
package annotation

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/privacy"
	"github.com/parley-im/parley/ent/project"
	"github.com/parley-im/parley/ent/projectmember"
	"github.com/parley-im/parley/ent/rule"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/notice"
	"github.com/parley-im/parley/internal/platform/apperr"
	"github.com/parley-im/parley/internal/platform/eventlog"
	"github.com/parley-im/parley/internal/platform/ratelimit"
	"github.com/parley-im/parley/internal/platform/txn"
)

// Reasons name the exact rule a request broke (extensions.reason). Field
// rules use apperr's REQUIRED, TOO_LONG and INVALID with the field's path.
const (
	// FORBIDDEN: the viewer sees the object but his role does not allow it.
	ReasonReadOnlyRole         = "READ_ONLY_ROLE"         // a viewer-role member writes
	ReasonOwnerOnly            = "OWNER_ONLY"             // a non-owner manages the project
	ReasonOwnerCannotLeave     = "OWNER_CANNOT_LEAVE"     // the owner leaves his project
	ReasonOwnerMembershipFixed = "OWNER_MEMBERSHIP_FIXED" // the owner's role is changed or he is removed
	ReasonNotFriend            = "NOT_FRIEND"             // an invite to someone who is not a friend
	ReasonInviteeOnly          = "INVITEE_ONLY"           // someone else answers an invite

	// CONFLICT: uniqueness and state.
	ReasonProjectNameTaken      = "PROJECT_NAME_TAKEN"
	ReasonEntityNameTaken       = "ENTITY_NAME_TAKEN"
	ReasonRelationTypeNameTaken = "RELATION_TYPE_NAME_TAKEN"
	ReasonMentionTaken          = "MENTION_TAKEN"               // the same span already points at the entity
	ReasonPairTaken             = "RELATION_PAIR_TAKEN"         // a relation source -> target exists
	ReasonReversePairTaken      = "RELATION_REVERSE_PAIR_TAKEN" // target -> source exists and one of them is symmetric
	ReasonAlreadyMember         = "ALREADY_MEMBER"
	ReasonInviteNotPending      = "INVITE_NOT_PENDING"
	ReasonRelationTypeInUse     = "RELATION_TYPE_IN_USE"  // deleting a type relations still use
	ReasonLabelBreaksRelation   = "LABEL_BREAKS_RELATION" // relabelling against a relation's constraints

	// BAD_USER_INPUT.
	ReasonCrossProject          = "CROSS_PROJECT" // objects of different projects put together
	ReasonSelfRelation          = "SELF_RELATION" // a relation from an entity to itself
	ReasonSourceLabelNotAllowed = "SOURCE_LABEL_NOT_ALLOWED"
	ReasonTargetLabelNotAllowed = "TARGET_LABEL_NOT_ALLOWED"
	ReasonTooManyLabels         = "TOO_MANY_LABELS"
	ReasonSpanInvalid           = "SPAN_INVALID"      // start < 0 or end <= start
	ReasonSpanOutOfRange        = "SPAN_OUT_OF_RANGE" // end beyond the text
	ReasonHopsOutOfRange        = "HOPS_OUT_OF_RANGE"
	ReasonImportInvalid         = "IMPORT_INVALID"   // data is not JSON of an accepted shape
	ReasonImportTooLarge        = "IMPORT_TOO_LARGE" // data over ImportMaxBytes or ImportMaxItems
)

// Limits, in characters (Unicode code points).
const (
	ProjectNameMax      = 64
	TextNameMax         = 128
	TextContentMax      = 100_000 // at most 400 KB of UTF-8: below the 1 MiB request body
	EntityNameMax       = 128
	LabelMax            = 64
	RelationTypeNameMax = 64
	LabelsMax           = 32 // labels per constraint list
)

// Event kinds on a project's topic. The subject is the node named by the
// kind's prefix (a project_member event's subject is the member row).
const (
	KindProjectCreated      = "project.created"
	KindProjectRenamed      = "project.renamed"
	KindProjectDeleted      = "project.deleted"
	KindProjectImported     = "project.imported" // data: the import's counts
	KindMemberCreated       = "project_member.created"
	KindMemberUpdated       = "project_member.updated"
	KindMemberDeleted       = "project_member.deleted" // data: userId and why (left, removed)
	KindInviteCreated       = "project_invite.created"
	KindInviteUpdated       = "project_invite.updated"
	KindTextCreated         = "text.created"
	KindTextRenamed         = "text.renamed"
	KindTextDeleted         = "text.deleted"
	KindEntityCreated       = "entity.created"
	KindEntityRenamed       = "entity.renamed"
	KindEntityRelabelled    = "entity.relabelled"
	KindEntityDeleted       = "entity.deleted"
	KindMentionCreated      = "mention.created"
	KindMentionDeleted      = "mention.deleted"
	KindRelationTypeCreated = "relation_type.created"
	KindRelationTypeRenamed = "relation_type.renamed"
	KindRelationTypeDeleted = "relation_type.deleted"
	KindRelationCreated     = "relation.created"
	KindRelationRetyped     = "relation.retyped"
	KindRelationDeleted     = "relation.deleted"
)

// Service is the annotation service.
type Service struct {
	client  *ent.Client
	log     *eventlog.Log
	notices *notice.Service
	budget  *ratelimit.Budget
}

// NewService returns the annotation service. Invites reach the invitee
// through the notice inbox, written to the same event log. budget bounds
// how fast one user adds texts (ratelimit.Texts) and creates entities,
// mentions, relation types and relations (ratelimit.Entities, imports
// included); nil is no limit.
func NewService(client *ent.Client, log *eventlog.Log, budget *ratelimit.Budget) *Service {
	return &Service{client: client, log: log, notices: notice.NewService(log), budget: budget}
}

// NameKey is the form in which names are compared for uniqueness and
// matched by name filters: NFKC (so that full-width and half-width forms
// match, as CJK input methods produce both), then Unicode case folding, with
// runs of white space collapsed to one space and the ends trimmed. "Tree",
// " TREE " and "ｔｒｅｅ" share the key "tree". The name itself is kept as
// typed, trimmed.
func NameKey(name string) string {
	folded := cases.Fold().String(norm.NFKC.String(name))
	return strings.Join(strings.Fields(folded), " ")
}

// writer returns the client of the mutation's transaction: a write and its
// events must commit together.
func writer(ctx context.Context) (*ent.Client, error) {
	if viewer.UserID(ctx) == 0 {
		return nil, apperr.SignIn()
	}
	return txn.Writer(ctx)
}

// reader returns the transaction's client inside a mutation, the root
// client otherwise.
func (s *Service) reader(ctx context.Context) *ent.Client { return txn.Reader(ctx, s.client) }

// memberProject loads a project the viewer is a member of. A project he is
// only invited into is visible to him (to show the invite) but is NOT_FOUND
// here, like one that does not exist.
func memberProject(ctx context.Context, db *ent.Client, id int, field string) (*ent.Project, error) {
	p, err := db.Project.Query().
		Where(project.ID(id), project.HasMembersWith(projectmember.UserID(viewer.UserID(ctx)))).
		Only(ctx)
	return p, found(err, "project", field)
}

// Project returns a project the viewer is a member of, or NOT_FOUND.
func (s *Service) Project(ctx context.Context, id int) (*ent.Project, error) {
	return memberProject(ctx, s.reader(ctx), id, "projectId")
}

// found turns a failed load into NOT_FOUND (what does not exist and what the
// viewer may not see answer alike) or wraps the error.
func found(err error, what, field string) error {
	switch {
	case err == nil:
		return nil
	case ent.IsNotFound(err):
		return apperr.New(apperr.NotFound, apperr.ReasonNotFound, field, "%s not found", what)
	}
	return fmt.Errorf("annotation: load %s: %w", what, err)
}

// denied turns the policy's refusal of a write into FORBIDDEN with reason.
// The caller loaded the object as the viewer first, so he can see it: a
// create the policy denies, or an update or delete its filter leaves without
// a row, means he lacks the role. Other errors are wrapped with op.
func denied(err error, reason, op string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, rule.ErrNoViewer):
		return apperr.SignIn()
	case errors.Is(err, privacy.Deny), ent.IsNotFound(err):
		return apperr.Deny(reason, "%s: %s", op, reasonText[reason])
	}
	return fmt.Errorf("annotation: %s: %w", op, err)
}

var reasonText = map[string]string{
	ReasonReadOnlyRole: "your role in this project is viewer: you may read, not write",
	ReasonOwnerOnly:    "only the project's owner may do this",
	ReasonInviteeOnly:  "only the invited user answers an invite",
}

// conflict reports a uniqueness or state conflict.
func conflict(reason, field, format string, args ...any) error {
	return apperr.New(apperr.Conflict, reason, field, format, args...)
}

// saved maps the error of a write: the policy's refusal becomes FORBIDDEN
// with reason deny (see denied), and a unique index that a concurrent write
// won first becomes the CONFLICT taken that the write's own check reports.
func saved(err error, op, deny, taken, field string) error {
	if taken != "" && ent.IsConstraintError(err) {
		return conflict(taken, field, "%s: already exists", op)
	}
	return denied(err, deny, op)
}

// cleanName validates a required name: trimmed, not empty, at most max
// characters, without control characters (names end up in file names and
// N-Triples).
func cleanName(raw, field string, max int) (string, error) {
	name := strings.TrimSpace(raw)
	switch {
	case name == "":
		return "", apperr.Input(apperr.ReasonRequired, field, "%s is required", field)
	case utf8.RuneCountInString(name) > max:
		return "", apperr.Input(apperr.ReasonTooLong, field, "%s is longer than %d characters", field, max)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return "", apperr.Input(apperr.ReasonInvalid, field, "%s contains control characters", field)
	}
	return name, nil
}

// cleanLabel validates an optional label: like a name, but may be empty.
func cleanLabel(raw, field string) (string, error) {
	if strings.TrimSpace(raw) == "" {
		return "", nil
	}
	return cleanName(raw, field, LabelMax)
}

// record is one event on the project's topic, acted by the viewer.
func record(ctx context.Context, projectID int, kind string, subject int, data any) eventlog.Record {
	return eventlog.Record{
		Topic: eventlog.ProjectTopic(projectID), Kind: kind,
		Actor: viewer.UserID(ctx), Subject: subject, Data: data,
	}
}

// deletions returns one deletion event per id.
func deletions(ctx context.Context, projectID int, kind string, ids []int) []eventlog.Record {
	out := make([]eventlog.Record, len(ids))
	for i, id := range ids {
		out[i] = record(ctx, projectID, kind, id, nil)
	}
	return out
}

// writing opens a mutation's writer and loads, with load, the row it acts
// on: the first two steps of every write of this package.
func writing[T any](ctx context.Context, load func(context.Context, *ent.Client, int, string) (T, error), id int, field string) (*ent.Client, T, error) {
	var zero T
	db, err := writer(ctx)
	if err != nil {
		return nil, zero, err
	}
	row, err := load(ctx, db, id, field)
	return db, row, err
}
