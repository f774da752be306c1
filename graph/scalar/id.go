// Package scalar holds Parley's own GraphQL scalar bindings.
package scalar

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/99designs/gqlgen/graphql"

	"github.com/parley-im/parley/internal/platform/apperr"
)

// MarshalID writes an ent id as a GraphQL ID (a string, as Relay expects).
func MarshalID(id int) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		io.WriteString(w, strconv.Quote(GlobalID(id)))
	})
}

// GlobalID is the string an ent id is given to clients as, the one
// node(id:) and every ID argument accept. Ids the API hands out in untyped
// places (a LiveEvent's data) use it too, so that a client compares them
// with the ids of nodes as strings, everywhere.
func GlobalID(id int) string { return strconv.Itoa(id) }

// UnmarshalID reads a GraphQL ID. Anything but a positive integer, as a
// string or a number, is the client's mistake: BAD_USER_INPUT with reason
// INVALID_ID, never an internal error.
func UnmarshalID(v any) (int, error) {
	var (
		n   int64
		err error
	)
	switch v := v.(type) {
	case string:
		n, err = strconv.ParseInt(v, 10, 64)
	case json.Number:
		n, err = v.Int64()
	case int:
		n = int64(v)
	case int64:
		n = v
	case float64:
		n = int64(v)
		if float64(n) != v {
			err = fmt.Errorf("not an integer")
		}
	default:
		err = fmt.Errorf("%T is not an id", v)
	}
	if err != nil || n <= 0 || n > 1<<53 {
		return 0, apperr.Input(ReasonInvalidID, "", "%q is not a valid id", apperr.Clip(fmt.Sprint(v)))
	}
	return int(n), nil
}

// ReasonInvalidID is the reason of a malformed ID argument.
const ReasonInvalidID = "INVALID_ID"
