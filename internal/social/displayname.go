package social

import (
	"context"
	"fmt"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/groupmember"
	"github.com/parley-im/parley/ent/user"
	"github.com/parley-im/parley/ent/viewer"
)

// DisplayName is the one rule of the name a person shows: the name given to
// him where he is shown (a friend's remark in the contact book and the
// conversation list, a member's alias in his group) when there is one, else
// his nickname, else his username. Groups, contacts and conversation titles
// all call it, so that a person is named the same way everywhere.
func DisplayName(u *ent.User, given string) string {
	switch {
	case given != "":
		return given
	case u == nil:
		return ""
	case u.Nickname != "":
		return u.Nickname
	}
	return u.Username
}

// Title is the one rule of what a group shows to a member in his lists
// (the conversation list, his groups): his remark for it when he gave one,
// else its name, as a friend's remark stands for his nickname.
func Title(name, remark string) string {
	if remark != "" {
		return remark
	}
	return name
}

// GroupRemarks returns the viewer's remarks for the groups of groupIDs, by
// group id, read through db as the viewer; a group he gave none is left
// out. Titles of groups (Title) are made of them.
func GroupRemarks(ctx context.Context, db *ent.Client, groupIDs []int) (map[int]string, error) {
	if len(groupIDs) == 0 {
		return nil, nil
	}
	rows, err := db.GroupMember.Query().Where(
		groupmember.UserID(viewer.UserID(ctx)), groupmember.GroupIDIn(groupIDs...), groupmember.RemarkNEQ(""),
	).Select(groupmember.FieldGroupID, groupmember.FieldRemark).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("social: group remarks: %w", err)
	}
	out := make(map[int]string, len(rows))
	for _, m := range rows {
		out[m.GroupID] = m.Remark
	}
	return out, nil
}

// LoadDisplayName is DisplayName for user uid, who may be at hand as u with
// too few columns: ent's GraphQL field collection loads an edge with only
// the columns a query selects, so the user of `members { user { id } }`
// comes without his names, and that of `members { user { username } }`
// without his nickname. A nickname at hand was loaded, so it is the answer;
// otherwise both names are read, so that the answer never depends on what
// else the query selected.
func LoadDisplayName(ctx context.Context, db *ent.Client, uid int, u *ent.User, given string) (string, error) {
	if given != "" || (u != nil && u.Nickname != "") {
		return DisplayName(u, given), nil
	}
	u, err := db.User.Query().Where(user.ID(uid)).
		Select(user.FieldNickname, user.FieldUsername).Only(ctx)
	if err != nil {
		return "", fmt.Errorf("social: display name: %w", err)
	}
	return DisplayName(u, given), nil
}
