// Package files stores uploads and serves them back.
//
// An upload arrives as a GraphQL multipart request (server/app checks the
// CSRF preflight header and bounds the body). Upload checks it against the
// kind's rules (size, sniffed content, images that decode, audio for voice),
// keeps the original name after sanitizing it, and stores the bytes once per
// content: the storage key is the sha256 of the bytes, so the same content is
// stored once whoever uploads it. The File row records who owns it and who may
// read it; the ent privacy policy of File (ent/schema/policy.go) decides every
// read, here as everywhere.
//
// The bytes live in a gocloud.dev/blob bucket: a directory on local disk by
// default, or S3, GCS or memory by URL (OpenBucket). Clients fetch them with
// GET /files/{id}/{name}; a private file's URL carries a signed, expiring
// token (sign.go) so that an <img src> works without an Authorization header.
package files

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"time"

	"gocloud.dev/blob"
	"golang.org/x/sync/semaphore"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/conversation"
	"github.com/parley-im/parley/ent/file"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/platform/apperr"
	"github.com/parley-im/parley/internal/platform/txn"
	"github.com/parley-im/parley/internal/settings"
)

// Reasons of the failures only this package raises. FILE_INVALID and
// FILE_TOO_LARGE are in graph/apperr with the other input reasons.
const (
	// ReasonPreflightRequired refuses a multipart request without the
	// Apollo-Require-Preflight or X-Apollo-Operation-Name header: a browser
	// form can post multipart across origins without a CORS preflight, a
	// custom header cannot.
	ReasonPreflightRequired = "CSRF_PREFLIGHT_REQUIRED"
	// ReasonURLExpired answers a file URL whose signed token is authentic
	// but out of date: fetch the file's url again.
	ReasonURLExpired = "URL_EXPIRED"
	// ReasonImageTooLarge refuses an image whose header shows that decoding
	// it would take more memory than Options.MaxDecodeBytes, however small
	// the file: a smaller picture, or another format, passes.
	ReasonImageTooLarge = "IMAGE_TOO_LARGE"
)

// Defaults of Options, also the server's defaults (server/app.Defaults).
const (
	DefaultMaxAvatarBytes = 5 << 20
	DefaultMaxImageBytes  = 5 << 20
	DefaultMaxVoiceBytes  = 10 << 20
	DefaultMaxFileBytes   = 50 << 20
	// DefaultMaxPixels bounds an image's width × height (40 megapixels).
	DefaultMaxPixels = 40_000_000
	// DefaultMaxDecodeBytes bounds the memory one image decode takes
	// (decodeCost): a 12-megapixel phone photo takes about 23 MB, a
	// 3840×2160 RGBA PNG about 40 MB, a 304 KB PNG of 6324×6324 16-bit
	// pixels 321 MB.
	DefaultMaxDecodeBytes = 64 << 20
	// DefaultMaxConcurrentDecodes is how many images decode at once: a
	// decode keeps a core busy, and the product of the two defaults,
	// 128 MiB, bounds the memory images take while they are checked.
	DefaultMaxConcurrentDecodes = 2
	DefaultURLTTL               = time.Hour
)

// Options configure the service.
type Options struct {
	// MaxBytes is the largest upload of each kind.
	MaxBytes map[file.Kind]int64
	// MaxPixels bounds width × height of an uploaded image or avatar.
	MaxPixels int64
	// MaxDecodeBytes bounds the memory decoding one image or avatar takes,
	// as its header announces it (decode.go).
	MaxDecodeBytes int64
	// MaxConcurrentDecodes bounds the images that decode at once; an upload
	// waits for a turn as long as its request lasts.
	MaxConcurrentDecodes int
	// URLTTL is how long a signed file URL stays valid, at least; see
	// Signer.
	URLTTL time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Log receives the failures that clients only see as "internal".
	Log *slog.Logger
	// AvatarHosts are the hosts of other servers whose images may be
	// avatars given by URL (AvatarURL); empty allows none.
	AvatarHosts []string
}

// Service stores and serves files.
type Service struct {
	client   *ent.Client
	settings *settings.Service
	bucket   *blob.Bucket
	signer   *Signer
	log      *slog.Logger
	opts     Options
	images   imageLimits
}

// New returns the files service. secret is the server's JWT secret, from
// which the URL-signing key is derived (see NewSigner). It takes ownership
// of bucket: Close closes it.
func New(client *ent.Client, bucket *blob.Bucket, secret []byte, opts Options) *Service {
	limits := make(map[file.Kind]int64, 4)
	for kind, n := range opts.MaxBytes {
		limits[kind] = n
	}
	opts.MaxBytes = limits
	for kind, def := range map[file.Kind]int64{
		file.KindAvatar: DefaultMaxAvatarBytes, file.KindImage: DefaultMaxImageBytes,
		file.KindVoice: DefaultMaxVoiceBytes, file.KindFile: DefaultMaxFileBytes,
	} {
		if opts.MaxBytes[kind] <= 0 {
			opts.MaxBytes[kind] = def
		}
	}
	if opts.MaxPixels <= 0 {
		opts.MaxPixels = DefaultMaxPixels
	}
	if opts.MaxDecodeBytes <= 0 {
		opts.MaxDecodeBytes = DefaultMaxDecodeBytes
	}
	if opts.MaxConcurrentDecodes <= 0 {
		opts.MaxConcurrentDecodes = DefaultMaxConcurrentDecodes
	}
	if opts.URLTTL <= 0 {
		opts.URLTTL = DefaultURLTTL
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	return &Service{
		client: client, settings: settings.NewService(client), bucket: bucket,
		signer: NewSigner(secret, opts.URLTTL, opts.Now), log: opts.Log, opts: opts,
		images: imageLimits{
			maxPixels: opts.MaxPixels, maxDecodeBytes: opts.MaxDecodeBytes,
			slots: semaphore.NewWeighted(int64(opts.MaxConcurrentDecodes)),
		},
	}
}

// Close closes the storage bucket.
func (s *Service) Close() error { return s.bucket.Close() }

// MaxUploadBytes is the largest upload of any kind: the HTTP layer bounds
// multipart bodies by it, and Upload then applies the kind's own limit.
func (s *Service) MaxUploadBytes() int64 {
	var largest int64
	for _, n := range s.opts.MaxBytes {
		largest = max(largest, n)
	}
	return largest
}

// toggles is the setting that governs each kind.
var toggles = map[file.Kind]settings.Toggle{
	file.KindAvatar: settings.UploadImage,
	file.KindImage:  settings.UploadImage,
	file.KindVoice:  settings.Voice,
	file.KindFile:   settings.UploadFile,
}

// db is the request's transaction when there is one (mutations run in one).
func (s *Service) db(ctx context.Context) *ent.Client { return txn.Reader(ctx, s.client) }

// Incoming is an upload as it arrives: its bytes, which Upload reads more
// than once (to hash, to check, to store), the name the client gave it and
// the size it declared.
type Incoming struct {
	Body     io.ReadSeeker
	Filename string
	Size     int64
}

// Upload stores up as a file of the given kind owned by the viewer and
// returns its row. The same owner uploading the same content as the same
// kind under the same name (a retry) gets his existing, not yet attached,
// file back; under another name it is another file. The bytes of any
// content are stored once (the key is their sha256). Avatars are public;
// other kinds stay private to the owner until Attach puts them in a
// conversation.
func (s *Service) Upload(ctx context.Context, up Incoming, kind file.Kind) (*ent.File, error) {
	uid := viewer.UserID(ctx)
	if uid == 0 {
		return nil, apperr.SignIn()
	}
	toggle, ok := toggles[kind]
	if !ok {
		return nil, apperr.Input(apperr.ReasonInvalid, "kind", "unknown file kind %q", apperr.Clip(string(kind)))
	}
	if err := s.settings.Require(ctx, toggle); err != nil {
		return nil, err
	}
	limit := s.opts.MaxBytes[kind]
	if up.Size > limit {
		return nil, tooLarge(kind, limit)
	}
	if up.Body == nil || up.Size == 0 {
		return nil, invalid("the file is empty")
	}

	sum, size, err := digest(up.Body, limit)
	if err != nil {
		return nil, err
	}
	if size > limit {
		return nil, tooLarge(kind, limit)
	}
	contentType, err := sniff(ctx, up.Body, kind, size, s.images)
	if err != nil {
		return nil, err
	}

	c := s.db(ctx)
	name := nameOr(SanitizeName(up.Filename), kind, contentType)
	same, err := c.File.Query().Where(
		file.OwnerID(uid), file.Sha256(sum), file.KindEQ(kind), file.Name(name), file.ConversationIDIsNil(),
	).First(ctx)
	switch {
	case err == nil:
		return same, nil
	case !ent.IsNotFound(err):
		return nil, fmt.Errorf("files: find duplicate: %w", err)
	}

	key := storageKey(sum)
	if err := s.store(ctx, key, contentType, up.Body); err != nil {
		return nil, err
	}
	f, err := c.File.Create().
		SetOwnerID(uid).SetKind(kind).
		SetName(name).
		SetContentType(contentType).SetSize(size).SetSha256(sum).SetStorageKey(key).
		SetPublic(kind == file.KindAvatar).
		Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("files: create: %w", err)
	}
	return f, nil
}

func tooLarge(kind file.Kind, limit int64) error {
	return apperr.Input(apperr.ReasonFileTooLarge, "file", "a %s may be at most %s", kind, HumanSize(limit))
}

func invalid(format string, args ...any) error {
	return apperr.Input(apperr.ReasonFileInvalid, "file", format, args...)
}

// digest reads r to the end, or one byte past limit, and returns the hex
// sha256 and the byte count; it leaves r at its start.
func digest(r io.ReadSeeker, limit int64) (string, int64, error) {
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return "", 0, fmt.Errorf("files: rewind upload: %w", err)
	}
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(r, limit+1))
	if err != nil {
		return "", 0, fmt.Errorf("files: read upload: %w", err)
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return "", 0, fmt.Errorf("files: rewind upload: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// storageKey is where the bytes of a content live: by sha256, fanned out by
// its first byte so that no directory of a local bucket grows too large. The
// original name never reaches storage.
func storageKey(sum string) string { return "sha256/" + sum[:2] + "/" + sum }

// storeBuffer is how much of an upload a bucket's writer buffers at a time,
// with storeConcurrency parts in flight: S3's smallest part, one at a time
// (for an upload over 16 MiB the AWS transfer manager otherwise allocates
// six 8 MiB parts, and GCS buffers 16 MiB chunks). A local bucket streams
// to its file regardless.
const (
	storeBuffer      = 5 << 20
	storeConcurrency = 1
)

// store writes the bytes under key unless they are there already, streaming
// them from r. Two concurrent uploads of one content write the same bytes,
// so the race is harmless.
func (s *Service) store(ctx context.Context, key, contentType string, r io.ReadSeeker) error {
	exists, err := s.bucket.Exists(ctx, key)
	if err != nil {
		return fmt.Errorf("files: stat %s: %w", key, err)
	}
	if exists {
		return nil
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("files: rewind upload: %w", err)
	}
	opts := &blob.WriterOptions{ContentType: contentType, BufferSize: storeBuffer, MaxConcurrency: storeConcurrency}
	if err := s.bucket.Upload(ctx, key, r, opts); err != nil {
		return fmt.Errorf("files: store %s: %w", key, err)
	}
	return nil
}

// Attach puts the viewer's file in a conversation he can see, so that the
// conversation's members may read it (the File policy lets them). Messaging
// calls it when a message carries a file. Only the owner attaches a file.
// A file already in another conversation is not moved, which would take it
// from that conversation's members: Attach then returns a new File row for
// the same stored bytes.
func (s *Service) Attach(ctx context.Context, fileID, conversationID int) (*ent.File, error) {
	uid := viewer.UserID(ctx)
	if uid == 0 {
		return nil, apperr.SignIn()
	}
	c := s.db(ctx)
	f, err := c.File.Get(ctx, fileID)
	if f, err = apperr.Found(f, err, "file", "files: attach: load file"); err != nil {
		return nil, err
	}
	if f.OwnerID != uid {
		return nil, apperr.Deny(apperr.ReasonNotAllowed, "only the uploader may send this file")
	}
	visible, err := c.Conversation.Query().Where(conversation.ID(conversationID)).Exist(ctx)
	switch {
	case err != nil:
		return nil, fmt.Errorf("files: attach: load conversation: %w", err)
	case !visible:
		return nil, apperr.Missing("conversation")
	}
	switch {
	case f.ConversationID == nil:
		f, err = f.Update().SetConversationID(conversationID).Save(ctx)
	case *f.ConversationID == conversationID:
		return f, nil
	default:
		f, err = c.File.Create().
			SetOwnerID(f.OwnerID).SetKind(f.Kind).SetName(f.Name).SetContentType(f.ContentType).
			SetSize(f.Size).SetSha256(f.Sha256).SetStorageKey(f.StorageKey).SetPublic(f.Public).
			SetConversationID(conversationID).
			Save(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("files: attach: %w", err)
	}
	return f, nil
}
