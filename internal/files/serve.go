package files

import (
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"gocloud.dev/gcerrors"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/platform/apperr"
)

// URL returns the path clients fetch f from, /files/{id}/{name}. A public
// file's path is the same for everyone and cached for good; a private
// file's carries a token signed for the viewer (see Signer).
func (s *Service) URL(ctx context.Context, f *ent.File) string {
	p := publicPath(f)
	if uid := viewer.UserID(ctx); !f.Public && uid != 0 {
		p += "?t=" + s.signer.Token(f.ID, uid)
	}
	return p
}

// publicPath is f's download path without a token, /files/{id}/{name}:
// what a public file's URL is for everyone.
func publicPath(f *ent.File) string {
	return "/files/" + strconv.Itoa(f.ID) + "/" + url.PathEscape(f.Name)
}

// ServeFile answers GET /files/{id}/{name} for the file id; the name is
// there for the browser and not checked. The reader is the token's user
// when the query carries a valid token t, else the viewer of the request's
// context (its bearer token), else nobody; the File privacy policy then
// decides, and a file the reader may not see is as missing as one that
// never existed: 404. An authentic but expired token, with no bearer, is
// 403 URL_EXPIRED so that a client knows to fetch the url again.
func (s *Service) ServeFile(w http.ResponseWriter, r *http.Request, id string) {
	fileID, err := strconv.Atoi(id)
	if err != nil || fileID <= 0 {
		WriteError(w, http.StatusNotFound, apperr.Missing("file"))
		return
	}
	ctx := r.Context()
	if t := r.URL.Query().Get("t"); t != "" {
		switch uid, state := s.signer.Verify(fileID, t); {
		case state == TokenValid:
			ctx = viewer.NewContext(ctx, &viewer.Viewer{UserID: uid})
		case state == TokenExpired && viewer.FromContext(ctx) == nil:
			WriteError(w, http.StatusForbidden, apperr.Deny(ReasonURLExpired, "this file URL has expired"))
			return
		}
	}
	f, err := s.client.File.Get(ctx, fileID)
	if ent.IsNotFound(err) {
		WriteError(w, http.StatusNotFound, apperr.Missing("file"))
		return
	} else if err != nil {
		s.fail(w, r, fmt.Errorf("files: serve %d: %w", fileID, err))
		return
	}
	blobReader, err := s.bucket.NewReader(r.Context(), f.StorageKey, nil)
	if err != nil {
		if gcerrors.Code(err) == gcerrors.NotFound {
			err = fmt.Errorf("files: bytes of file %d missing from storage: %w", f.ID, err)
		}
		s.fail(w, r, err)
		return
	}
	defer blobReader.Close()

	h := w.Header()
	contentType, disposition := f.ContentType, "inline"
	if !inline(contentType) {
		contentType, disposition = "application/octet-stream", "attachment"
	}
	h.Set("Content-Type", contentType)
	h.Set("Content-Disposition", ContentDisposition(disposition, f.Name))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("ETag", `"`+f.Sha256+`"`)
	if f.Public {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		// Revalidated on every use: a 304 is cheap, and it re-runs the
		// privacy check.
		h.Set("Cache-Control", "private, no-cache")
	}
	// blob.Reader seeks by reopening a range of the object, so Range
	// requests read only what they return.
	http.ServeContent(w, r, "", f.CreatedAt, blobReader)
}

// ContentDisposition builds the header for a download of name (RFC 6266):
// an ASCII filename for old clients and, when the name is not ASCII, the
// exact UTF-8 name as filename* (RFC 8187).
func ContentDisposition(disposition, name string) string {
	fallback := strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return '_'
		}
		return r
	}, name)
	header := mime.FormatMediaType(disposition, map[string]string{"filename": fallback})
	if fallback != name {
		exact := mime.FormatMediaType(disposition, map[string]string{"filename": name})
		header += exact[len(disposition):] // "; filename*=utf-8''..."
	}
	return header
}

// fail logs an unexpected failure and answers 500 without its detail.
func (s *Service) fail(w http.ResponseWriter, r *http.Request, err error) {
	s.log.ErrorContext(r.Context(), "files: internal error", "path", r.URL.Path, "err", err)
	WriteError(w, http.StatusInternalServerError, &apperr.Error{Code: apperr.Internal, Message: "internal server error"})
}

// WriteError answers with the error shape the API uses everywhere,
// {"errors":[{"message", "extensions"}]}, and the HTTP status.
func WriteError(w http.ResponseWriter, status int, e *apperr.Error) {
	h := w.Header()
	for _, k := range []string{"Cache-Control", "ETag", "Content-Disposition"} {
		h.Del(k)
	}
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	body, _ := json.Marshal(map[string]any{"errors": []any{map[string]any{"message": e.Message, "extensions": e.Extensions()}}})
	w.Write(body)
}
