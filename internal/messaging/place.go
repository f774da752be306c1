package messaging

// This file holds what groups and rooms, the places that own a conversation,
// share: the check of the text people give them (names, announcements,
// details, remarks) and of a change of their avatar. Both packages call it,
// so that a group and a room refuse the same input the same way.

import (
	"context"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/parley-im/parley/internal/platform/apperr"
)

// CleanText checks a free-text input of a group or a room: trimmed, at most
// max characters (not bytes), without control characters (line breaks and
// tabs are allowed when multiline). Errors name field and its last part.
func CleanText(v, field string, max int, multiline bool) (string, error) {
	v = strings.TrimSpace(v)
	what := field[strings.LastIndex(field, ".")+1:]
	if utf8.RuneCountInString(v) > max {
		return "", apperr.Input(apperr.ReasonTooLong, field, "%s is longer than %d characters", what, max)
	}
	for _, r := range v {
		if unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\t')) {
			return "", apperr.Input(apperr.ReasonInvalid, field, "%s may not contain control characters", what)
		}
	}
	return v, nil
}

// Avatars checks an avatar named by file id and gives its URL (the files
// service, which holds the one rule for avatars).
type Avatars interface {
	Avatar(ctx context.Context, fileID int, field string) (string, error)
}

// AvatarChange resolves a patch of a group's or room's avatar: the URL of
// the viewer's uploaded avatar fileID, "" when clear, or nil when neither
// is asked (the avatar stays). Both at once is bad input.
func AvatarChange(ctx context.Context, avatars Avatars, fileID *int, clear bool) (*string, error) {
	switch {
	case fileID != nil && clear:
		return nil, apperr.Input(apperr.ReasonInvalid, "input.clearAvatar", "give avatarFileId or clearAvatar, not both")
	case fileID != nil:
		avatar, err := avatars.Avatar(ctx, *fileID, "input.avatarFileId")
		if err != nil {
			return nil, err
		}
		return &avatar, nil
	case clear:
		none := ""
		return &none, nil
	}
	return nil, nil
}
