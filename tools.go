//go:build tools

// Package parley pins the code generators that go generate ./... runs, so that
// go.mod records their versions.
package parley

import (
	_ "entgo.io/contrib/entgql"
	_ "entgo.io/ent/entc"
	_ "github.com/99designs/gqlgen"
)
