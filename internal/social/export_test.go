package social

import "github.com/parley-im/parley/ent"

// NewTestContact is the contact of a user with id and nickname name, for the
// tests of Group outside the package.
func NewTestContact(id int, name string, pinned bool) *Contact {
	return newContact(&ent.User{ID: id, Nickname: name}, "", pinned)
}
