package social

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/cannedreply"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/platform/apperr"
)

// CannedGroup is the viewer's canned replies of one type.
type CannedGroup struct {
	Type    cannedreply.Type
	Replies []*ent.CannedReply
}

// CannedReplies lists the viewer's canned replies grouped by type (welcome,
// quick reply, FAQ), higher weight first, then newest.
func (s *Service) CannedReplies(ctx context.Context) ([]*CannedGroup, error) {
	rows, err := s.read(ctx).CannedReply.Query().
		Where(cannedreply.OwnerID(viewer.UserID(ctx))).
		Order(ent.Desc(cannedreply.FieldWeight), ent.Desc(cannedreply.FieldID)).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("social: canned replies: %w", err)
	}
	out := []*CannedGroup{{Type: cannedreply.TypeWelcome}, {Type: cannedreply.TypeQuickReply}, {Type: cannedreply.TypeFaq}}
	for _, r := range rows {
		for _, g := range out {
			if g.Type == r.Type {
				g.Replies = append(g.Replies, r)
			}
		}
	}
	for _, g := range out {
		if g.Replies == nil {
			g.Replies = []*ent.CannedReply{}
		}
	}
	return out, nil
}

// Canned is a canned reply's fields; nil fields are left unchanged on update
// (on create, Type, Title and Content are required).
type Canned struct {
	Type                 *cannedreply.Type
	Title, Keyword, Body *string
	Visible, IsDefault   *bool
	Weight               *int
}

func (c *Canned) validate() error {
	for _, f := range []struct {
		v     *string
		field string
		max   int
		need  bool
	}{
		{c.Title, "title", CannedTitleMax, true},
		{c.Keyword, "keyword", CannedKeyMax, false},
		{c.Body, "content", CannedBodyMax, true},
	} {
		if f.v == nil {
			continue
		}
		v := strings.TrimSpace(*f.v)
		*f.v = v
		switch {
		case f.need && v == "":
			return apperr.Input(apperr.ReasonRequired, "input."+f.field, "%s is required", f.field)
		case utf8.RuneCountInString(v) > f.max:
			return apperr.Input(apperr.ReasonTooLong, "input."+f.field, "%s is longer than %d characters", f.field, f.max)
		}
	}
	if c.Weight != nil && (*c.Weight < -1000000 || *c.Weight > 1000000) {
		return apperr.Input(apperr.ReasonInvalid, "input.weight", "weight must be between -1000000 and 1000000")
	}
	return nil
}

// CreateCanned adds a canned reply for the viewer.
func (s *Service) CreateCanned(ctx context.Context, c Canned) (*ent.CannedReply, error) {
	db, err := tx(ctx)
	if err != nil {
		return nil, err
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	create := db.CannedReply.Create().SetOwnerID(viewer.UserID(ctx)).SetType(*c.Type).
		SetTitle(*c.Title).SetContent(*c.Body).SetNillableKeyword(c.Keyword).
		SetNillableVisible(c.Visible).SetNillableWeight(c.Weight).SetNillableIsDefault(c.IsDefault)
	if err := oneDefault(ctx, db, *c.Type, c, 0); err != nil {
		return nil, err
	}
	r, err := create.Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("social: create canned reply: %w", err)
	}
	return r, nil
}

// UpdateCanned changes one of the viewer's canned replies; another
// user's reply reads as missing.
func (s *Service) UpdateCanned(ctx context.Context, id int, c Canned) (*ent.CannedReply, error) {
	db, err := tx(ctx)
	if err != nil {
		return nil, err
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	r, err := db.CannedReply.Get(ctx, id)
	if ent.IsNotFound(err) {
		return nil, apperr.Missing("canned reply")
	} else if err != nil {
		return nil, fmt.Errorf("social: load canned reply: %w", err)
	}
	if c.Visible == nil {
		c.Visible = &r.Visible
	}
	if c.IsDefault == nil {
		c.IsDefault = &r.IsDefault
	}
	if err := oneDefault(ctx, db, r.Type, c, r.ID); err != nil {
		return nil, err
	}
	r, err = r.Update().SetNillableTitle(c.Title).SetNillableContent(c.Body).SetNillableKeyword(c.Keyword).
		SetNillableVisible(c.Visible).SetNillableWeight(c.Weight).SetNillableIsDefault(c.IsDefault).Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("social: update canned reply: %w", err)
	}
	return r, nil
}

// oneDefault keeps at most one default reply per type: making a reply the
// default clears the flag on the others. A default must be visible, since
// the welcome default is sent to strangers.
func oneDefault(ctx context.Context, db *ent.Client, t cannedreply.Type, c Canned, except int) error {
	if c.IsDefault == nil || !*c.IsDefault {
		return nil
	}
	if c.Visible != nil && !*c.Visible {
		return apperr.Input(ReasonDefaultNotShown, "input.isDefault", "a default reply must be visible")
	}
	_, err := db.CannedReply.Update().Where(
		cannedreply.OwnerID(viewer.UserID(ctx)), cannedreply.TypeEQ(t), cannedreply.IsDefault(true), cannedreply.IDNEQ(except),
	).SetIsDefault(false).Save(ctx)
	if err != nil {
		return fmt.Errorf("social: clear default reply: %w", err)
	}
	return nil
}

// DeleteCanned deletes one of the viewer's canned replies.
func (s *Service) DeleteCanned(ctx context.Context, id int) error {
	db, err := tx(ctx)
	if err != nil {
		return err
	}
	n, err := db.CannedReply.Delete().Where(cannedreply.ID(id)).Exec(ctx)
	if err != nil {
		return fmt.Errorf("social: delete canned reply: %w", err)
	}
	if n == 0 {
		return apperr.Missing("canned reply")
	}
	return nil
}

// Welcome returns owner's default welcome reply, or nil: messaging sends it
// as the first message when a stranger opens a chat with him.
func (s *Service) Welcome(ctx context.Context, owner int) (*ent.CannedReply, error) {
	r, err := s.read(ctx).CannedReply.Query().Where(
		cannedreply.OwnerID(owner), cannedreply.TypeEQ(cannedreply.TypeWelcome),
		cannedreply.IsDefault(true), cannedreply.Visible(true),
	).First(viewer.SystemContext(ctx))
	if ent.IsNotFound(err) {
		return nil, nil
	}
	return r, err
}
