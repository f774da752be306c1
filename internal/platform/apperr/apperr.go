// Package apperr gives every failure a client can act on one shape: a stable
// extensions.code (Apollo's codes), a machine-readable reason and the input
// field at fault. Domain code returns *Error; the presenter turns anything
// else into INTERNAL_SERVER_ERROR without detail, logged with a request id.
package apperr

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lib/pq"
	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/privacy"
	"github.com/parley-im/parley/ent/rule"
)

// Code is the GraphQL extensions.code of an error.
type Code string

// The codes Parley returns.
const (
	Unauthenticated Code = "UNAUTHENTICATED"
	Forbidden       Code = "FORBIDDEN"
	BadUserInput    Code = "BAD_USER_INPUT"
	NotFound        Code = "NOT_FOUND"
	Conflict        Code = "CONFLICT"
	RateLimited     Code = "RATE_LIMITED"
	Internal        Code = "INTERNAL_SERVER_ERROR"
)

// Reasons name the exact rule a request broke, one reason a rule. Clients
// switch on the reason, people read the message.
const (
	ReasonRequired         = "REQUIRED"
	ReasonQueryTooShort    = "QUERY_TOO_SHORT"
	ReasonTooLong          = "TOO_LONG"
	ReasonInvalid          = "INVALID"
	ReasonUsernameRequired = "USERNAME_REQUIRED"
	ReasonPasswordRequired = "PASSWORD_REQUIRED"
	ReasonPhoneRequired    = "PHONE_REQUIRED"
	ReasonAvatarRequired   = "AVATAR_REQUIRED"
	ReasonAvatarInvalid    = "AVATAR_INVALID"
	ReasonUserRequired     = "USER_REQUIRED"
	ReasonUsernameTaken    = "USERNAME_TAKEN"
	ReasonPhoneTaken       = "PHONE_TAKEN"
	ReasonEmailTaken       = "EMAIL_TAKEN"
	ReasonPhoneInvalid     = "PHONE_INVALID"
	// ReasonPhoneLength is no longer raised (auth.NormalizePhone calls a
	// number of the wrong length PHONE_INVALID); it stays defined for the
	// clients that switch on it.
	ReasonPhoneLength      = "PHONE_LENGTH"
	ReasonEmailInvalid     = "EMAIL_INVALID"
	ReasonPasswordTooShort = "PASSWORD_TOO_SHORT"
	ReasonPasswordTooLong  = "PASSWORD_TOO_LONG"
	ReasonUsernameLength   = "USERNAME_LENGTH"
	ReasonUsernameIllegal  = "USERNAME_ILLEGAL"
	ReasonFileInvalid      = "FILE_INVALID"
	ReasonFileTooLarge     = "FILE_TOO_LARGE"
	ReasonWrongPassword    = "WRONG_PASSWORD"
	ReasonAlreadySignedIn  = "ALREADY_SIGNED_IN"
	ReasonAccountDisabled  = "ACCOUNT_DISABLED"
	ReasonTokenInvalid     = "TOKEN_INVALID"
	ReasonTokenExpired     = "TOKEN_EXPIRED"
	ReasonSessionRevoked   = "SESSION_REVOKED"
	ReasonSignInRequired   = "SIGN_IN_REQUIRED"
	ReasonTooManyAttempts  = "TOO_MANY_ATTEMPTS"
	ReasonTooManyAccounts  = "TOO_MANY_ACCOUNTS"
	ReasonTooManyWrites    = "TOO_MANY_WRITES"
	ReasonNotAllowed       = "NOT_ALLOWED"
	ReasonNotFound         = "NOT_FOUND"
	ReasonDuplicate        = "DUPLICATE"
	ReasonCursorUnknown    = "CURSOR_UNKNOWN"
	// ReasonIntrospectionDisabled refuses __schema and __type while
	// introspection is off (by default in production).
	ReasonIntrospectionDisabled = "INTROSPECTION_DISABLED"
)

// Error is a failure the client caused or may act on.
type Error struct {
	Code    Code
	Reason  string
	Field   string // the input field at fault, as a GraphQL path like "input.password"
	Message string
	Err     error // the cause, kept for logs, never shown
	// RetryAfter, on a RATE_LIMITED error, is how long the client should
	// wait before trying again; it goes out as extensions.retryAfter in
	// whole seconds, rounded up.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %v", e.Message, e.Err)
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Extensions returns the error's GraphQL extensions.
func (e *Error) Extensions() map[string]any {
	ext := map[string]any{"code": string(e.Code)}
	if e.Reason != "" {
		ext["reason"] = e.Reason
	}
	if e.Field != "" {
		ext["field"] = e.Field
	}
	if e.RetryAfter > 0 {
		ext["retryAfter"] = RetrySeconds(e.RetryAfter)
	}
	return ext
}

// RetrySeconds is d in whole seconds, rounded up and at least 1, as
// extensions.retryAfter carries it: a client that waits that long finds
// the budget refilled, where rounding down would send it back too early.
func RetrySeconds(d time.Duration) int {
	s := int((d + time.Second - 1) / time.Second)
	return max(s, 1)
}

// New returns an Error with a formatted message.
func New(code Code, reason, field, format string, args ...any) *Error {
	return &Error{Code: code, Reason: reason, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Limited reports a request refused by a rate limit (RATE_LIMITED) that
// may be retried after retry.
func Limited(reason, field string, retry time.Duration, format string, args ...any) *Error {
	e := New(RateLimited, reason, field, format, args...)
	e.RetryAfter = max(retry, time.Second)
	return e
}

// Input reports a bad input field.
func Input(reason, field, format string, args ...any) *Error {
	return New(BadUserInput, reason, field, format, args...)
}

// SearchMax bounds a search query, in characters.
const SearchMax = 64

// SearchQuery is the one rule of every search's query argument: trimmed of
// white space, at most SearchMax characters (TOO_LONG), and not empty
// (QUERY_TOO_SHORT) unless the search may list everything.
func SearchQuery(query string, required bool) (string, error) {
	query = strings.TrimSpace(query)
	switch n := utf8.RuneCountInString(query); {
	case n == 0 && required:
		return "", Input(ReasonQueryTooShort, "query", "query is required")
	case n > SearchMax:
		return "", Input(ReasonTooLong, "query", "query is longer than %d characters", SearchMax)
	}
	return query, nil
}

// Found is the result of loading one object: v when err is nil; what's
// NOT_FOUND when ent found nothing (or nothing the viewer may see);
// another error wrapped with op, for the log.
func Found[T any](v T, err error, what, op string) (T, error) {
	var zero T
	switch {
	case ent.IsNotFound(err):
		return zero, Missing(what)
	case err != nil:
		return zero, fmt.Errorf("%s: %w", op, err)
	}
	return v, nil
}

// Missing reports an object that does not exist or that the viewer may not
// see: the two are deliberately indistinguishable.
func Missing(what string) *Error {
	return New(NotFound, ReasonNotFound, "", "%s not found", what)
}

// Deny reports an action the viewer may not take on an object he can see.
func Deny(reason, format string, args ...any) *Error {
	return New(Forbidden, reason, "", format, args...)
}

// SignIn reports a request that needs a signed-in viewer.
func SignIn() *Error {
	return New(Unauthenticated, ReasonSignInRequired, "", "sign in first")
}

// EchoMax is how many characters of a client's input an error message may
// quote back (Clip).
const EchoMax = 64

// Clip shortens input a client sent to at most EchoMax characters, with "…"
// when something was cut, for quoting in an error message: a message names
// what it refuses without reflecting a megabyte string back to the sender.
// Quote the result with %q, which also escapes control characters and
// invalid UTF-8.
func Clip(input string) string {
	n := 0
	for i := range input {
		if n == EchoMax {
			return input[:i] + "…"
		}
		n++
	}
	return input
}

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// Classify maps any error to an *Error.
func Classify(err error) *Error {
	if app := Known(err); app != nil {
		return app
	}
	switch {
	case errors.Is(err, rule.ErrNoViewer):
		return SignIn()
	case ent.IsNotFound(err):
		return Missing("object")
	case errors.Is(err, privacy.Deny):
		return Deny(ReasonNotAllowed, "not allowed")
	case ent.IsConstraintError(err):
		return New(Conflict, ReasonDuplicate, "", "conflicts with existing data")
	case errors.Is(err, context.DeadlineExceeded):
		return New(Internal, "TIMEOUT", "", "request timed out")
	case databaseUnavailable(err):
		return &Error{Code: Internal, Reason: ReasonDatabaseUnavailable, Message: "the database is unavailable for a moment: try again", Err: err}
	}
	return &Error{Code: Internal, Message: "internal server error", Err: err}
}

// ReasonDatabaseUnavailable says that a request failed because the
// database could not be reached or took no more connections: the request
// may be retried as it is.
const ReasonDatabaseUnavailable = "DATABASE_UNAVAILABLE"

// databaseUnavailable reports whether err is the database refusing or
// losing the connection rather than refusing the statement: PostgreSQL's
// connection exceptions (class 08), insufficient resources (53, such as
// too many connections) and shutdowns (57P01 to 57P03), or a broken
// connection.
func databaseUnavailable(err error) bool {
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		switch code := string(pqErr.Code); {
		case strings.HasPrefix(code, "08"), strings.HasPrefix(code, "53"),
			code == "57P01", code == "57P02", code == "57P03":
			return true
		}
		return false
	}
	var netErr *net.OpError
	return errors.Is(err, driver.ErrBadConn) || errors.As(err, &netErr)
}

// Known returns the *Error in err's chain, or nil.
func Known(err error) *Error {
	if e, ok := As(err); ok {
		return e
	}
	return nil
}
