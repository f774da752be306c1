package app_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

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

// start serves an App built from cfg, changed by each of configure.
func start(t *testing.T, cfg app.Config, configure ...func(*app.Config)) *server {
	for _, c := range configure {
		c(&cfg)
	}
	return &server{apptest.Start(t, cfg)}
}

// newServer serves an App on a fresh database of b with the test
// configuration, changed by each of configure.
func newServer(t *testing.T, b dbtest.Backend, configure ...func(*app.Config)) *server {
	return &server{apptest.New(t, b, configure...)}
}

// from returns s with its requests sent from the loopback address ip.
func (s *server) from(ip string) *server { return &server{s.Server.From(ip)} }

// refusal is one operation that must fail, for refuse.
type refusal struct {
	name         string
	as           account // the zero account is anonymous
	vars         map[string]any
	code, reason string
	field        string // the input field the error names; "" for none
}

// refuse sends query with each refusal's variables, as a subtest of t: it
// must fail with the refusal's code, reason and field.
func (s *server) refuse(t *testing.T, query string, refusals []refusal) {
	for _, c := range refusals {
		t.Run(c.name, func(t *testing.T) {
			sub := *s.Server
			sub.T = t
			r := sub.Fails(c.as.Token, query, c.vars, c.code, c.reason)
			require.Equal(t, c.field, r.Ext("field"))
		})
	}
}

// input is the variables of an operation whose only argument is $in.
func input(in map[string]any) map[string]any { return map[string]any{"in": in} }

// eachProtocol runs f on a fresh server of every backend, once in each
// WebSocket protocol.
func eachProtocol(t *testing.T, f func(t *testing.T, s *server, protocol string)) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		for _, protocol := range apptest.Protocols {
			t.Run(protocol, func(t *testing.T) { f(t, newServer(t, b), protocol) })
		}
	})
}

// intID is the number of an id the API gives, as ent and the event log
// hold it.
func intID(id string) int {
	var n int
	fmt.Sscan(id, &n)
	return n
}

// eachServer runs f on a fresh server of every backend (dbtest.Each).
func eachServer(t *testing.T, f func(t *testing.T, s *server)) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) { f(t, newServer(t, b)) })
}

// eachConfigured is eachServer with the test configuration changed by
// configure.
func eachConfigured(t *testing.T, configure func(*app.Config), f func(t *testing.T, s *server)) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) { f(t, newServer(t, b, configure)) })
}

// eachKit runs f on every backend with a fresh kit (a server with the
// helpers of a feature) made by newKit.
func eachKit[K any](t *testing.T, newKit func(*testing.T, dbtest.Backend) K, f func(*testing.T, K)) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) { f(t, newKit(t, b)) })
}

// noticeOperations is the operation of each of the first notices of type
// typ in the inbox of token's user, as the API shows them.
func (s *server) noticeOperations(token, typ string) []string {
	s.T.Helper()
	var inbox struct {
		Notices struct {
			Edges []struct {
				Node struct{ Type, Operation string }
			}
		}
	}
	s.OK(token, `{ notices(first: 50) { edges { node { type operation } } } }`, nil, &inbox)
	var out []string
	for _, e := range inbox.Notices.Edges {
		if e.Node.Type == typ {
			out = append(out, e.Node.Operation)
		}
	}
	return out
}
