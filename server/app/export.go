package app

import (
	"mime"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/platform/apperr"
)

// exportRoutes serves the annotation exports as file downloads:
//
//	GET /projects/{id}/export/entities.json
//	GET /projects/{id}/export/relations.json
//	GET /projects/{id}/export/triples.json
//	GET /projects/{id}/export/triples.nt    (N-Triples)
//	GET /projects/{id}/export/texts.jsonl   (doccano JSONL with spans)
//
// The bearer token of the Authorization header identifies the viewer, as on
// /query, and the privacy policies filter every row read, so a stranger's
// request is NOT_FOUND like a missing project. There is no request timeout:
// a large project streams page by page for as long as it takes.
func (a *App) exportRoutes(r chi.Router) {
	r.With(a.authenticate).Get("/projects/{id}/export/{file}", a.exportProject)
}

// exportProject answers errors as JSON with a status (401, 404), and a
// download as an attachment. A failure in the middle of the stream aborts
// the response, so the client sees a broken download, never a short file.
func (a *App) exportProject(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if viewer.UserID(ctx) == 0 {
		writeError(w, http.StatusUnauthorized, apperr.SignIn())
		return
	}
	id, ok := pathID(w, r, "project")
	if !ok {
		return
	}
	export, err := a.resolver.Annotation.Export(ctx, id, chi.URLParam(r, "file"))
	if err != nil {
		a.writeFailure(w, r, "export", err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", export.ContentType+"; charset=utf-8")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": export.FileName}))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if err := export.Write(ctx, w); err != nil {
		a.log.ErrorContext(ctx, "export stopped", "request_id", middleware.GetReqID(ctx), "project", id, "err", err)
		panic(http.ErrAbortHandler)
	}
}

// pathID is the route's {id}, a positive number; any other answers the
// NOT_FOUND of what, and ok is false.
func pathID(w http.ResponseWriter, r *http.Request, what string) (id int, ok bool) {
	id, err := strconv.Atoi(chi.URLParam(r, "id"))
	if err != nil || id <= 0 {
		writeError(w, http.StatusNotFound, apperr.Missing(what))
		return 0, false
	}
	return id, true
}

// writeFailure answers err as a JSON error with its code's HTTP status
// (httpStatus); the server's own failures are logged as op, with the
// request id the client was given.
func (a *App) writeFailure(w http.ResponseWriter, r *http.Request, op string, err error) {
	e := apperr.Classify(err)
	if e.Code == apperr.Internal {
		a.log.ErrorContext(r.Context(), op, "request_id", middleware.GetReqID(r.Context()), "err", err)
	}
	writeError(w, httpStatus(e.Code), e)
}

// httpStatus is the HTTP status of an error code, for the JSON routes
// beside GraphQL.
func httpStatus(code apperr.Code) int {
	switch code {
	case apperr.Unauthenticated:
		return http.StatusUnauthorized
	case apperr.Forbidden:
		return http.StatusForbidden
	case apperr.NotFound:
		return http.StatusNotFound
	case apperr.BadUserInput:
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}
