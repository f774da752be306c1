package app_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/internal/platform/dbtest"
	"github.com/parley-im/parley/server/apptest"
)

// productionServer runs with the settings of PARLEY_PRODUCTION=true:
// introspection off by default, a JWT secret given (testConfig's).
func productionServer(t *testing.T, b dbtest.Backend) *server {
	cfg := apptest.Config(t, b.URL(t))
	cfg.Production, cfg.Introspection = true, false
	return start(t, cfg)
}

// getQuery runs query with GET, as GraphQL-over-HTTP allows for queries.
func (s *server) getQuery(token, query string) response {
	s.T.Helper()
	req, _ := http.NewRequest("GET", s.URL+"/query?query="+url.QueryEscape(query), nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return s.DecodeOK(req)
}

// misspelt are requests that fail validation on a name close to a real one:
// a field, an argument, an enum value, a type, and a field that needs a
// selection of subfields.
var misspelt = []string{
	`mutation { changePasswrd(input: {newPassword: "password2"}) { accessToken } }`,
	`{ me { usernam } }`,
	`{ user(usernam: "alice") { id } }`,
	`mutation { updateProfile(input: {sex: femal}) { id } }`,
	`query { ...F } fragment F on Quer { me { id } }`,
	`{ me }`,
}

// TestProductionErrors: in production, refused introspection is a coded
// error (FORBIDDEN, INTROSPECTION_DISABLED) over POST and GET, not an
// internal one, and validation errors suggest no names of the schema.
func TestProductionErrors(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		s := productionServer(t, b)
		alice := s.Register("alice", nil)
		for _, q := range []string{
			`{ __schema { queryType { name } } }`,
			`{ __type(name: "User") { name fields { name } } }`,
			`query IntrospectionQuery { __schema { types { name } } }`,
		} {
			for _, token := range []string{"", alice.Token} {
				for method, r := range map[string]response{"POST": s.Do(token, q, nil), "GET": s.getQuery(token, q)} {
					require.Equal(t, http.StatusOK, r.Status, "%s %s", method, q)
					require.NotEmpty(t, r.Errors, "%s %s", method, q)
					require.Equal(t, "FORBIDDEN", r.Code(), "%s %s: %+v", method, q, r.Errors)
					require.Equal(t, "INTROSPECTION_DISABLED", r.Reason(), "%s %s", method, q)
					require.NotContains(t, r.Errors[0].Message, "internal", "%s %s", method, q)
				}
			}
		}
		// __typename is not introspection, and stays.
		var typename struct {
			Typename string `json:"__typename"`
		}
		s.OK("", `{ __typename }`, nil, &typename)
		require.Equal(t, "Query", typename.Typename)

		for _, q := range misspelt {
			for method, r := range map[string]response{"POST": s.Do(alice.Token, q, nil), "GET": s.getQuery(alice.Token, q)} {
				if method == "GET" && strings.HasPrefix(q, "mutation") {
					continue // GET refuses mutations before validation
				}
				require.NotEmpty(t, r.Errors, "%s %s", method, q)
				require.Equal(t, "GRAPHQL_VALIDATION_FAILED", r.Code(), "%s %s: %+v", method, q, r.Errors)
				for _, e := range r.Errors {
					require.NotContains(t, e.Message, "Did you mean", "%s %s", method, q)
				}
			}
		}
	})
}

// TestDevelopmentErrors is the counterpart: outside production,
// introspection answers and validation errors keep their suggestions, so
// TestProductionErrors checks a difference the mode makes.
func TestDevelopmentErrors(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		alice := s.Register("alice", nil)
		var schema struct {
			Schema struct{ QueryType struct{ Name string } } `json:"__schema"`
		}
		s.OK("", `{ __schema { queryType { name } } }`, nil, &schema)
		require.Equal(t, "Query", schema.Schema.QueryType.Name)
		for _, q := range misspelt {
			r := s.Do(alice.Token, q, nil)
			require.Equal(t, "GRAPHQL_VALIDATION_FAILED", r.Code(), "%s: %+v", q, r.Errors)
			require.Contains(t, r.Errors[0].Message, "Did you mean", q)
		}
	})
}
