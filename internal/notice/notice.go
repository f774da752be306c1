// Package notice is the inbox: one model for friend applications and
// acceptances, group applications and invitations, project invites and
// system notices. Requests carry an operation state (not operated, agreed,
// refused) so that the recipient acts once; every new notice and every state
// change is an event on the recipient's stream (and the sender's, for a
// settled request), which the notices subscription delivers live.
package notice

import (
	"context"
	"fmt"
	"time"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/notice"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/platform/apperr"
	"github.com/parley-im/parley/internal/platform/eventlog"
	"github.com/parley-im/parley/internal/platform/txn"
)

// Event kinds of the notices stream.
const (
	KindCreated = "notice.created"
	KindUpdated = "notice.updated"
	KindDeleted = "notice.deleted"
)

// ReasonAlreadyHandled refuses to operate a request twice.
const ReasonAlreadyHandled = "ALREADY_HANDLED"

// PostscriptMax bounds a request's postscript.
const PostscriptMax = 256

// Spec describes a notice to push.
type Spec struct {
	Type       notice.Type
	From       int // 0 for a system notice
	To         int
	GroupID    int
	ProjectID  int
	Postscript string
	Data       map[string]any
	// Request marks a notice the recipient answers (agree or refuse). A
	// request that is still pending for the same sender, recipient, type,
	// group and project is updated instead of repeated.
	Request bool
}

// Service pushes and settles notices.
type Service struct{ log *eventlog.Log }

// NewService returns the notice service.
func NewService(log *eventlog.Log) *Service { return &Service{log: log} }

// Push stores a notice for spec.To and tells him. It must run in the
// caller's transaction (ent.FromContext). The creation is checked by the
// Notice policy: a user sends notices from himself; system notices (From 0)
// are written as the system.
func (s *Service) Push(ctx context.Context, spec Spec) (*ent.Notice, error) {
	db, err := txn.Writer(ctx)
	if err != nil {
		return nil, err
	}
	wctx := ctx
	if spec.From == 0 {
		wctx = viewer.SystemContext(ctx)
	}
	if spec.Request {
		pending, err := s.pending(wctx, db, spec)
		if err != nil {
			return nil, err
		}
		if pending != nil {
			n, err := pending.Update().SetPostscript(spec.Postscript).SetRead(false).
				SetUpdatedAt(time.Now()).Save(viewer.SystemContext(ctx))
			if err != nil {
				return nil, fmt.Errorf("notice: renew request: %w", err)
			}
			return n, s.log.Append(ctx, record(n, KindUpdated, spec.From, n.ToID))
		}
	}
	create := db.Notice.Create().SetType(spec.Type).SetToID(spec.To).SetPostscript(spec.Postscript)
	if spec.From != 0 {
		create.SetFromID(spec.From)
	}
	if spec.GroupID != 0 {
		create.SetGroupID(spec.GroupID)
	}
	if spec.ProjectID != 0 {
		create.SetProjectID(spec.ProjectID)
	}
	if spec.Data != nil {
		create.SetData(spec.Data)
	}
	if spec.Request {
		create.SetOperation(notice.OperationNotOperated)
	}
	n, err := create.Save(wctx)
	if err != nil {
		return nil, fmt.Errorf("notice: push: %w", err)
	}
	return n, s.log.Append(ctx, record(n, KindCreated, spec.From, n.ToID))
}

// PushAll stores notices that ask nothing (no Request), all from the
// viewer, and tells each recipient, in two writes whatever their number:
// one insert of the rows and one append of their events. It must run in
// the caller's transaction; the Notice policy checks each row as Push's.
func (s *Service) PushAll(ctx context.Context, specs []Spec) error {
	if len(specs) == 0 {
		return nil
	}
	db, err := txn.Writer(ctx)
	if err != nil {
		return err
	}
	creates := make([]*ent.NoticeCreate, len(specs))
	for i, spec := range specs {
		if spec.Request || spec.From == 0 {
			return fmt.Errorf("notice: push all: requests and system notices go through Push")
		}
		c := db.Notice.Create().SetType(spec.Type).SetFromID(spec.From).SetToID(spec.To).SetPostscript(spec.Postscript)
		if spec.GroupID != 0 {
			c.SetGroupID(spec.GroupID)
		}
		if spec.Data != nil {
			c.SetData(spec.Data)
		}
		creates[i] = c
	}
	made, err := db.Notice.CreateBulk(creates...).Save(ctx)
	if err != nil {
		return fmt.Errorf("notice: push all: %w", err)
	}
	records := make([]eventlog.Record, len(made))
	for i, n := range made {
		records[i] = record(n, KindCreated, specs[i].From, n.ToID)
	}
	return s.log.Append(ctx, records...)
}

// pending finds the still-open request that spec repeats.
func (s *Service) pending(ctx context.Context, db *ent.Client, spec Spec) (*ent.Notice, error) {
	q := db.Notice.Query().Where(
		notice.TypeEQ(spec.Type), notice.ToID(spec.To),
		notice.OperationEQ(notice.OperationNotOperated),
	)
	if spec.From != 0 {
		q.Where(notice.FromID(spec.From))
	}
	if spec.GroupID != 0 {
		q.Where(notice.GroupID(spec.GroupID))
	}
	if spec.ProjectID != 0 {
		q.Where(notice.ProjectID(spec.ProjectID))
	}
	n, err := q.First(viewer.SystemContext(ctx))
	if ent.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("notice: find pending: %w", err)
	}
	return n, nil
}

// Pending returns the viewer's open request of type t from user from, for
// rules such as "accepting an application needs one".
func (s *Service) Pending(ctx context.Context, t notice.Type, from, to int) (*ent.Notice, error) {
	db, err := txn.Writer(ctx)
	if err != nil {
		return nil, err
	}
	return s.pending(ctx, db, Spec{Type: t, From: from, To: to})
}

// Settle answers a request the viewer received: it must still be pending.
// Both sides are told. The caller performs what the answer means (adding
// the friend, the member...) in the same transaction.
func (s *Service) Settle(ctx context.Context, n *ent.Notice, op notice.Operation) (*ent.Notice, error) {
	switch {
	case n.ToID != viewer.UserID(ctx):
		return nil, apperr.Missing("notice")
	case n.Operation != notice.OperationNotOperated:
		return nil, apperr.New(apperr.Conflict, ReasonAlreadyHandled, "", "this request was already %s", n.Operation)
	}
	n, err := n.Update().SetOperation(op).SetRead(true).Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("notice: settle: %w", err)
	}
	records := []eventlog.Record{record(n, KindUpdated, n.ToID, n.ToID)}
	if n.FromID != nil {
		records = append(records, record(n, KindUpdated, n.ToID, *n.FromID))
	}
	return n, s.log.Append(ctx, records...)
}

// Cancel closes the pending requests of spec's type (and group or project,
// when given) that their recipients can no longer answer because what they
// were about is going: operation cancelled. It writes as the system (the
// one who ends the thing, a project's owner deleting it, is not the
// recipient) in the caller's transaction, before the thing is deleted, and
// tells both sides, as Settle does. The read flag is left alone: the
// recipient has not seen the change.
func (s *Service) Cancel(ctx context.Context, spec Spec) error {
	db, err := txn.Writer(ctx)
	if err != nil {
		return err
	}
	sys := viewer.SystemContext(ctx)
	q := db.Notice.Query().Where(notice.TypeEQ(spec.Type), notice.OperationEQ(notice.OperationNotOperated))
	if spec.GroupID != 0 {
		q.Where(notice.GroupID(spec.GroupID))
	}
	if spec.ProjectID != 0 {
		q.Where(notice.ProjectID(spec.ProjectID))
	}
	pending, err := q.All(sys)
	if err != nil {
		return fmt.Errorf("notice: find to cancel: %w", err)
	}
	if len(pending) == 0 {
		return nil
	}
	ids := make([]int, len(pending))
	for i, n := range pending {
		ids[i] = n.ID
	}
	if err := db.Notice.Update().Where(notice.IDIn(ids...)).SetOperation(notice.OperationCancelled).Exec(sys); err != nil {
		return fmt.Errorf("notice: cancel: %w", err)
	}
	actor := viewer.UserID(ctx)
	var records []eventlog.Record
	for _, n := range pending {
		records = append(records, record(n, KindUpdated, actor, n.ToID))
		if n.FromID != nil && *n.FromID != n.ToID {
			records = append(records, record(n, KindUpdated, actor, *n.FromID))
		}
	}
	return s.log.Append(ctx, records...)
}

// MarkRead marks the viewer's notices read (all of them when ids is empty)
// and returns how many changed.
func (s *Service) MarkRead(ctx context.Context, ids []int) (int, error) {
	db, err := txn.Writer(ctx)
	if err != nil {
		return 0, err
	}
	q := db.Notice.Update().Where(notice.ToID(viewer.UserID(ctx)), notice.Read(false))
	if len(ids) > 0 {
		q.Where(notice.IDIn(ids...))
	}
	n, err := q.SetRead(true).Save(ctx)
	if err != nil {
		return 0, fmt.Errorf("notice: mark read: %w", err)
	}
	return n, nil
}

func record(n *ent.Notice, kind string, actor, to int) eventlog.Record {
	return eventlog.Record{Topic: eventlog.UserTopic(to), Kind: kind, Actor: actor, Subject: n.ID}
}
