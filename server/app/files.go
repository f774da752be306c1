package app

// Files and QR codes over HTTP. graph/files does the work; this
// file wires it: the service from the configuration, the multipart upload
// transport's limits and CSRF guard on /query, and the routes GET
// /files/{id}/{name} and GET /qr.

import (
	"context"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/go-chi/chi/v5"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/file"
	"github.com/parley-im/parley/internal/files"
	"github.com/parley-im/parley/internal/platform/apperr"
)

// uploadMemory is the largest multipart body gqlgen reads into memory; the
// file of a larger one is copied, 32 KiB at a time, to a temporary file (in
// os.TempDir: $TMPDIR must be writable, and on disk rather than tmpfs for
// large files to stay out of RAM). It is as much as a plain JSON request may
// carry by default, so that concurrent uploads cost memory like concurrent
// queries.
const uploadMemory = 1 << 20

// newFiles opens the storage bucket (cfg.StorageURL, or cfg.UploadDir on
// local disk) and returns the files service.
func newFiles(ctx context.Context, cfg Config, client *ent.Client, log *slog.Logger) (*files.Service, error) {
	if err := CheckFiles(cfg); err != nil {
		return nil, err
	}
	bucket, err := files.OpenBucket(ctx, cfg.StorageURL, cfg.UploadDir)
	if err != nil {
		return nil, err
	}
	return files.New(client, bucket, cfg.JWTSecret, files.Options{
		MaxBytes: map[file.Kind]int64{
			file.KindAvatar: cfg.MaxAvatarBytes, file.KindImage: cfg.MaxImageBytes,
			file.KindVoice: cfg.MaxVoiceBytes, file.KindFile: cfg.MaxFileBytes,
		},
		MaxPixels:            cfg.MaxImagePixels,
		MaxDecodeBytes:       cfg.MaxImageDecodeBytes,
		MaxConcurrentDecodes: cfg.MaxConcurrentDecodes,
		URLTTL:               cfg.FileURLTTL,
		Log:                  log,
		AvatarHosts:          cfg.AvatarHosts,
	}), nil
}

// fileRoutes mounts the download and QR code routes. Downloads get no
// request deadline: a large file on a slow link takes what it takes.
func (a *App) fileRoutes(r chi.Router) {
	download := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.Files.ServeFile(w, r, chi.URLParam(r, "id"))
	})
	for _, pattern := range []string{"/files/{id}", "/files/{id}/{name}"} {
		r.With(a.authenticate).Get(pattern, download)
		r.With(a.authenticate).Head(pattern, download)
	}
	r.With(a.limitBody).Get("/qr", files.ServeQR)
	r.With(a.limitBody).Head("/qr", files.ServeQR)
}

// multipartTransport is gqlgen's transport for the GraphQL multipart request
// spec: it accepts the largest file of any kind, and graph/files then
// applies the limit of the file's kind.
func (a *App) multipartTransport() transport.MultipartForm {
	return transport.MultipartForm{MaxUploadSize: a.uploadBodyMax(), MaxMemory: uploadMemory}
}

// uploadBodyMax bounds a multipart body: the largest file plus what a plain
// request may carry, for the operations and map parts.
func (a *App) uploadBodyMax() int64 { return a.Files.MaxUploadBytes() + a.cfg.MaxBodyBytes }

// isMultipart reports a multipart/form-data request, the shape of uploads.
func isMultipart(r *http.Request) bool {
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mediaType == "multipart/form-data"
}

// bodyLimit is the largest body of r: uploads get the upload limit, every
// other request MaxBodyBytes.
func (a *App) bodyLimit(r *http.Request) int64 {
	if isMultipart(r) {
		return a.uploadBodyMax()
	}
	return a.cfg.MaxBodyBytes
}

// requestTimeout is the deadline of r: uploads get UploadTimeout, since a
// large file on a slow link takes longer to arrive than a query.
func (a *App) requestTimeout(r *http.Request) time.Duration {
	if isMultipart(r) {
		return a.cfg.UploadTimeout
	}
	return a.cfg.RequestTimeout
}

// uploadGuard protects multipart requests to /query. A browser sends a
// multipart form to any origin without a CORS preflight, with the user's
// cookies; requiring a header that a form cannot set (Apollo-Require-Preflight
// or X-Apollo-Operation-Name, as Apollo Server does) forces the preflight,
// which the CORS allow-list then decides. Parley authenticates with bearer
// tokens, not cookies, so this is defence in depth, and the convention
// clients of the multipart spec already follow. The guard also refuses a
// body whose declared length is over the limit before reading it.
//
// A body of unknown length (chunked) is declared as long as the limit for
// gqlgen: its MultipartForm keeps a body in memory when Content-Length is
// under MaxMemory, and an unknown length (-1) is under any limit, so a
// chunked 50 MiB upload would otherwise be read into RAM whole. The body
// stays bounded by limitBody's reader either way.
func (a *App) uploadGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isMultipart(r) {
			next.ServeHTTP(w, r)
			return
		}
		if strings.TrimSpace(r.Header.Get("Apollo-Require-Preflight")) == "" &&
			strings.TrimSpace(r.Header.Get("X-Apollo-Operation-Name")) == "" {
			files.WriteError(w, http.StatusBadRequest, apperr.Input(files.ReasonPreflightRequired, "",
				"a multipart request must carry a non-empty Apollo-Require-Preflight or X-Apollo-Operation-Name header"))
			return
		}
		if r.ContentLength > a.uploadBodyMax() {
			files.WriteError(w, http.StatusRequestEntityTooLarge, apperr.Input(apperr.ReasonFileTooLarge, "file",
				"the request is larger than %s", files.HumanSize(a.uploadBodyMax())))
			return
		}
		if r.ContentLength < 0 {
			r = r.WithContext(r.Context()) // a copy, not the server's request
			r.ContentLength = a.uploadBodyMax()
		}
		next.ServeHTTP(w, r)
	})
}

// CheckFiles refuses file settings the server cannot run with: a storage
// URL it cannot open, or a limit that is not positive.
func CheckFiles(cfg Config) error {
	if err := files.CheckStorageURL(cfg.StorageURL); err != nil {
		return fmt.Errorf("PARLEY_STORAGE_URL: %w", err)
	}
	for _, v := range []struct {
		name  string
		value int64
	}{
		{"PARLEY_MAX_AVATAR_BYTES", cfg.MaxAvatarBytes}, {"PARLEY_MAX_IMAGE_BYTES", cfg.MaxImageBytes},
		{"PARLEY_MAX_VOICE_BYTES", cfg.MaxVoiceBytes}, {"PARLEY_MAX_FILE_BYTES", cfg.MaxFileBytes},
		{"PARLEY_MAX_IMAGE_PIXELS", cfg.MaxImagePixels}, {"PARLEY_MAX_IMAGE_DECODE_BYTES", cfg.MaxImageDecodeBytes},
		{"PARLEY_MAX_CONCURRENT_DECODES", int64(cfg.MaxConcurrentDecodes)},
		{"PARLEY_FILE_URL_TTL", int64(cfg.FileURLTTL)}, {"PARLEY_UPLOAD_TIMEOUT", int64(cfg.UploadTimeout)},
	} {
		if v.value <= 0 {
			return fmt.Errorf("%s must be positive", v.name)
		}
	}
	if cfg.FileURLTTL < time.Minute {
		return fmt.Errorf("PARLEY_FILE_URL_TTL must be at least 1m")
	}
	return nil
}
