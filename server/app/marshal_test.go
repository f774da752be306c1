package app

import (
	"encoding/json"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/stretchr/testify/require"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// TestMarshalExecutedIsJSONMarshal: an executed response is written byte
// for byte as json.Marshal writes it, HTML escaping included, with or
// without errors, data and the other members.
func TestMarshalExecutedIsJSONMarshal(t *testing.T) {
	yes := true
	for name, rsp := range map[string]*graphql.Response{
		"data":          {Data: json.RawMessage(`{"messages":{"edges":[{"node":{"text":"<b>&amp; \u2028 \"x\""}}]}}`)},
		"null data":     {Errors: gqlerror.List{{Message: "no", Path: ast.Path{ast.PathName("me")}, Extensions: map[string]any{"code": "FORBIDDEN"}}}},
		"both":          {Data: json.RawMessage(`{"me":null}`), Errors: gqlerror.List{{Message: "a < b"}}},
		"every member":  {Data: json.RawMessage(`{}`), Label: "l", Path: ast.Path{ast.PathIndex(1)}, HasNext: &yes, Extensions: map[string]any{"cost": 3}},
		"empty data":    {Data: json.RawMessage(``)},
		"extensions":    {Data: json.RawMessage(`{"a":1}`), Extensions: map[string]any{"x": "<"}},
		"unicode value": {Data: json.RawMessage("{\"t\":\"表情 ☃ \u2028\u2029\"}")},
	} {
		want, err := json.Marshal(rsp)
		if len(rsp.Data) == 0 {
			want, err = json.Marshal(&graphql.Response{Errors: rsp.Errors, Data: json.RawMessage("null"), Label: rsp.Label, Path: rsp.Path, HasNext: rsp.HasNext, Extensions: rsp.Extensions})
		}
		require.NoError(t, err, name)
		got, err := marshalExecuted(rsp)
		require.NoError(t, err, name)
		require.Equal(t, string(want), string(got), name)
	}
}
