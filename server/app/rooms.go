package app

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/parley-im/parley/internal/platform/apperr"
)

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
