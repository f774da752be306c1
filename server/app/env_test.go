package app_test

import (
	"testing"

	"github.com/parley-im/parley/internal/platform/dbtest"
	"github.com/parley-im/parley/server/app"
	"github.com/parley-im/parley/server/apptest"
)

// server is one Parley instance under test (see server/apptest); the
// *_test.go files add the helpers of their features to it.
type server struct{ *apptest.Server }

// account and response are the kit's, by the short names the tests use.
type (
	account  = apptest.Account
	response = apptest.Response
)

// start serves an App built from cfg.
func start(t *testing.T, cfg app.Config) *server { return &server{apptest.Start(t, cfg)} }

// newServer serves an App on a fresh database of b with the test
// configuration, changed by each of configure.
func newServer(t *testing.T, b dbtest.Backend, configure ...func(*app.Config)) *server {
	return &server{apptest.New(t, b, configure...)}
}

// from returns s with its requests sent from the loopback address ip.
func (s *server) from(ip string) *server { return &server{s.Server.From(ip)} }
