// Package social holds the rules between people: friend applications and
// friendships, the contact book and stranger list, profiles, sub-users,
// account deletion and canned replies. Resolvers call it; it writes through
// the ent client in the request's transaction, so the privacy policies
// (ent/schema/policy.go) still decide who may touch which row, and appends
// the events subscribers receive.
package social

import (
	"context"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/auth"
	"github.com/parley-im/parley/internal/notice"
	"github.com/parley-im/parley/internal/platform/apperr"
	"github.com/parley-im/parley/internal/platform/eventlog"
	"github.com/parley-im/parley/internal/platform/txn"
	"github.com/parley-im/parley/internal/settings"
)

// Reasons of the social rules; each rule has its own, so that clients can
// tell the user exactly what went wrong.
const (
	ReasonSelfFriend      = "CANNOT_FRIEND_SELF"
	ReasonAlreadyFriends  = "ALREADY_FRIENDS"
	ReasonNotFriends      = "NOT_FRIENDS"
	ReasonUserDisabled    = "USER_DISABLED"
	ReasonNotApplication  = "NOT_A_FRIEND_APPLICATION"
	ReasonMembersOnly     = "MEMBERS_ONLY"
	ReasonSubUserLimit    = "SUB_USER_LIMIT"
	ReasonCannotSelf      = "CANNOT_CHANGE_SELF"
	ReasonQueryTooShort   = apperr.ReasonQueryTooShort
	ReasonTooManyIDs      = "TOO_MANY_IDS"
	ReasonDefaultNotShown = "DEFAULT_MUST_BE_VISIBLE"
)

// Limits of social inputs.
const (
	RemarkMax      = 64
	SearchMax      = apperr.SearchMax
	UsersMax       = 100
	SubUsersMax    = 20
	CannedTitleMax = 128
	CannedKeyMax   = 64
	CannedBodyMax  = 4096
)

// Event kinds on users' streams.
const (
	KindFriendAdded   = "friend.added"
	KindFriendUpdated = "friend.updated"
	KindFriendDeleted = "friend.deleted"
	KindUserUpdated   = "user.updated"
)

// Avatars checks the avatars users give (the files service, which holds the
// one rule for avatars: uploads of the viewer's own, or images on an
// allowed host).
type Avatars interface {
	Avatar(ctx context.Context, fileID int, field string) (string, error)
	AvatarURL(ctx context.Context, raw, field string) (string, error)
}

// Service is the social service.
type Service struct {
	client   *ent.Client
	log      *eventlog.Log
	notices  *notice.Service
	settings *settings.Service
	avatars  Avatars
	// phoneRegion reads phones written without a country code
	// (auth.NormalizePhone), as sign-in does.
	phoneRegion string
	// accounts and departures serve DeleteAccount (LetGoWith).
	accounts   *auth.Service
	departures []Departure
}

// NewService returns the social service. phoneRegion is the region of
// phone numbers written without a country code, the one the account
// service reads them in, so that a profile's phone, a search and a friend
// request by phone name the number sign-in knows.
func NewService(client *ent.Client, log *eventlog.Log, notices *notice.Service, settings *settings.Service, avatars Avatars, phoneRegion string) *Service {
	return &Service{client: client, log: log, notices: notices, settings: settings, avatars: avatars, phoneRegion: phoneRegion}
}

// tx returns the request's transaction client; every write of this package
// runs in one (GraphQL mutations do, through entgql.Transactioner), and
// every one of them acts for a signed-in viewer.
func tx(ctx context.Context) (*ent.Client, error) {
	if viewer.UserID(ctx) == 0 {
		return nil, apperr.SignIn()
	}
	return txn.Writer(ctx)
}

// read returns the client queries go through.
func (s *Service) read(ctx context.Context) *ent.Client { return txn.Reader(ctx, s.client) }

// notFound hides whether a user exists from someone who may not see him.
func userNotFound() error { return apperr.Missing("user") }
