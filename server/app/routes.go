package app

// The JSON routes beside GraphQL: the annotation exports and the rooms'
// shared links, which read their {id} and answer failures alike.

import (
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

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

// roomRoutes serves the rooms' shared links, so that Room.url (room.URL,
// "/rooms/<id>") opens on this server:
//
//	GET /rooms/{id}
//
// It answers the room's public card as JSON (room.Card), the same for every
// reader, so it reads no token. With a web app configured (WebAppURL), a
// browser, which asks for text/html, is redirected (302) to the web app's
// page of the room, <WebAppURL>/rooms/<id>; scripts and apps still get the
// JSON. A room that does not exist, or no longer does, is a 404 with a JSON
// error for both, so that a dead link is told apart before the redirect.
func (a *App) roomRoutes(r chi.Router) {
	r.With(a.limitBody).Get("/rooms/{id}", a.roomLink)
	r.With(a.limitBody).Head("/rooms/{id}", a.roomLink)
}

func (a *App) roomLink(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	w.Header().Add("Vary", "Accept")
	id, ok := pathID(w, r, "room")
	if !ok {
		return
	}
	card, err := a.resolver.Rooms.Card(ctx, id)
	if err != nil {
		a.writeFailure(w, r, "room link", err)
		return
	}
	if a.cfg.WebAppURL != "" && acceptsHTML(r.Header.Values("Accept")) {
		http.Redirect(w, r, strings.TrimRight(a.cfg.WebAppURL, "/")+card.URL, http.StatusFound)
		return
	}
	body, err := json.Marshal(card)
	if err != nil {
		writeError(w, http.StatusInternalServerError, apperr.Classify(err))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-cache") // the counts are live
	w.Write(body)
}

// acceptsHTML reports whether an Accept header names text/html with a
// non-zero quality: a browser opening a link does, fetch and curl do not
// (*/* is not taken for it).
func acceptsHTML(accept []string) bool {
	for _, line := range accept {
		for _, item := range strings.Split(line, ",") {
			media, params, _ := strings.Cut(item, ";")
			if !strings.EqualFold(strings.TrimSpace(media), "text/html") {
				continue
			}
			q := 1.0
			for _, p := range strings.Split(params, ";") {
				if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.EqualFold(k, "q") {
					if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
						q = f
					}
				}
			}
			if q > 0 {
				return true
			}
		}
	}
	return false
}

// CheckWebAppURL checks the web app's URL (WebAppURL): empty, or an
// absolute http or https URL without query or fragment, since the room's
// path is appended to it.
func CheckWebAppURL(raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return err
	case u.Scheme != "http" && u.Scheme != "https":
		return errors.New("must be an http or https URL, such as https://chat.example.com")
	case u.Host == "":
		return errors.New("has no host")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return errors.New("must have no query or fragment: the room's path /rooms/<id> is appended to it")
	}
	return nil
}
