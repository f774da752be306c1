// Package presenter turns the errors of a GraphQL operation into what a
// client may see: every error gets a stable extensions.code (Apollo's codes)
// and a reason, and nothing internal (SQL, driver or panic detail) leaks.
// The errors themselves are internal/platform/apperr's; this package is
// their GraphQL face.
package presenter

import (
	"context"
	"errors"
	"log/slog"

	"github.com/99designs/gqlgen/graphql"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/parley-im/parley/internal/platform/apperr"
)

// Presenter is gqlgen's error presenter. Known errors keep their message and
// gain their code; ent's not-found and privacy denials become NOT_FOUND and
// FORBIDDEN; anything else is logged with the request id and hidden.
func Presenter(log *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		gqlErr := graphql.DefaultErrorPresenter(ctx, err)
		if code, ok := gqlErr.Extensions["code"]; ok && apperr.Known(err) == nil {
			// gqlgen's own parse and validation errors, an unknown
			// persisted query, entgql's node(id:) not found: they keep
			// their code and get a reason, the code itself where the
			// library gave none, so that every error carries one.
			if _, has := gqlErr.Extensions["reason"]; !has {
				gqlErr.Extensions["reason"] = code
			}
			return gqlErr
		}
		app := apperr.Classify(err)
		if app.Code == apperr.Internal {
			if client := clientMistake(ctx, err, gqlErr); client != nil {
				app = client
			}
		}
		if app.Code == apperr.Internal {
			reqID := middleware.GetReqID(ctx)
			level := slog.LevelError
			if errors.Is(err, context.Canceled) {
				level = slog.LevelDebug // the client left: nobody reads the answer
			}
			log.Log(ctx, level, "internal error", "request_id", reqID, "path", gqlErr.Path.String(), "err", err)
			// The cause stays in the log; a reason the classifier gave
			// (TIMEOUT, DATABASE_UNAVAILABLE) tells the client it may retry.
			msg := "internal server error"
			if app.Reason != "" {
				msg = app.Message
			}
			app = &apperr.Error{Code: apperr.Internal, Reason: app.Reason, Message: msg + " (request " + reqID + ")"}
		}
		gqlErr.Message = app.Message
		gqlErr.Extensions = app.Extensions()
		return gqlErr
	}
}

// clientMistake recognises the uncoded errors GraphQL libraries raise about
// the request itself (hostile input), which would otherwise be
// INTERNAL_SERVER_ERROR:
//
//   - an argument gqlgen failed to coerce, such as entgql's Cursor refusing
//     a malformed Relay cursor: the field's arguments are still unset when
//     gqlgen reports it (fieldContext_* in generated.go), before any resolver
//     runs. BAD_USER_INPUT, reason INVALID, with the argument as field.
//   - a *gqlerror.Error without a cause, which gqlgen and entgql write for
//     clients (an APQ hash mismatch, first with last): BAD_REQUEST
//     MALFORMED_REQUEST for the request, BAD_USER_INPUT INVALID for a field.
func clientMistake(ctx context.Context, err error, presented *gqlerror.Error) *apperr.Error {
	var gqlErr *gqlerror.Error
	if !errors.As(err, &gqlErr) || errors.Is(err, errPanic) {
		return nil
	}
	fc := graphql.GetFieldContext(ctx)
	if fc != nil && fc.Args == nil && len(fc.Field.Arguments) > 0 {
		field := ""
		if n := len(presented.Path); n > 0 {
			if name, ok := presented.Path[n-1].(ast.PathName); ok {
				field = string(name)
			}
		}
		return apperr.Input(apperr.ReasonInvalid, field, "%s", gqlErr.Message)
	}
	if gqlErr.Err != nil {
		return nil
	}
	if fc == nil {
		return apperr.New("BAD_REQUEST", "MALFORMED_REQUEST", "", "%s", gqlErr.Message)
	}
	return apperr.Input(apperr.ReasonInvalid, "", "%s", gqlErr.Message)
}

// Recover turns a resolver panic into a logged internal error, so that one
// bad request never takes the server down.
func Recover(log *slog.Logger) graphql.RecoverFunc {
	return func(ctx context.Context, p any) error {
		log.ErrorContext(ctx, "panic in resolver", "request_id", middleware.GetReqID(ctx), "panic", p)
		return errPanic
	}
}

// errPanic is what a recovered panic becomes: always internal.
var errPanic = errors.New("panic in resolver")

// HideUncoded is a response interceptor for errors that bypass the presenter
// (gqlgen and entgql build some responses directly, such as a failed
// commit): a message without a code is replaced, so no SQL or driver detail
// reaches the client.
func HideUncoded(log *slog.Logger) interface {
	graphql.HandlerExtension
	graphql.ResponseInterceptor
} {
	return hideUncoded{log}
}

type hideUncoded struct{ log *slog.Logger }

func (hideUncoded) ExtensionName() string                   { return "HideUncodedErrors" }
func (hideUncoded) Validate(graphql.ExecutableSchema) error { return nil }

func (h hideUncoded) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	rsp := next(ctx)
	if rsp == nil {
		return nil
	}
	for _, e := range rsp.Errors {
		if _, ok := e.Extensions["code"]; ok {
			continue
		}
		reqID := middleware.GetReqID(ctx)
		h.log.ErrorContext(ctx, "uncoded error", "request_id", reqID, "err", e.Message)
		e.Message = "internal server error (request " + reqID + ")"
		e.Extensions = map[string]any{"code": string(apperr.Internal)}
	}
	return rsp
}
