package room

import (
	"context"
	"strconv"
	"time"

	entroom "github.com/parley-im/parley/ent/room"
	"github.com/parley-im/parley/internal/platform/apperr"
)

// Card is a room as anyone may read it, for a shared link opened outside
// the API (Room.url): what the Room type shows an anonymous reader, without
// its history (which needs sign-in) or anything about the reader. Its
// fields are named as in the GraphQL schema, so that a client reads both
// alike.
type Card struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Detail      string    `json:"detail"`
	Avatar      string    `json:"avatar"`
	URL         string    `json:"url"`
	MemberCount int       `json:"memberCount"`
	OnlineCount int       `json:"onlineCount"`
	CreatedAt   time.Time `json:"createdAt"`
	Owner       CardUser  `json:"owner"`
}

// CardUser is the owner on a Card: his id and username, public on every
// profile.
type CardUser struct {
	ID       string `json:"id"`
	Username string `json:"username"`
}

// Card returns the public card of room id, NOT_FOUND when there is none (or
// no more). ctx is the reader's; no sign-in is needed.
func (s *Service) Card(ctx context.Context, id int) (*Card, error) {
	db := s.reader(ctx)
	r, err := db.Room.Query().Where(entroom.ID(id)).WithOwner().Only(ctx)
	if r, err = apperr.Found(r, err, "room", "room: card"); err != nil {
		return nil, err
	}
	c := &Card{
		ID: strconv.Itoa(r.ID), Name: r.Name, Detail: r.Detail, Avatar: r.Avatar, URL: URL(r),
		CreatedAt: r.CreatedAt,
	}
	if c.MemberCount, err = s.memberCount(ctx, db, r); err != nil {
		return nil, err
	}
	if c.OnlineCount, err = s.onlineCount(ctx, db, r); err != nil {
		return nil, err
	}
	if o := r.Edges.Owner; o != nil {
		c.Owner = CardUser{ID: strconv.Itoa(o.ID), Username: o.Username}
	}
	return c, nil
}
