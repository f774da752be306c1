package files

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // decoders image.Decode needs for uploads
	_ "image/jpeg"
	_ "image/png"
	"io"
	"mime"
	"net/http"
	"strings"

	_ "golang.org/x/image/webp"
	"golang.org/x/sync/semaphore"

	"github.com/parley-im/parley/ent/file"
	"github.com/parley-im/parley/internal/platform/apperr"
)

// imageTypes are the images Parley accepts and serves inline, with the name
// image.DecodeConfig gives their format. SVG is not among them: it can carry
// script.
var imageTypes = map[string]string{
	"image/png":  "png",
	"image/jpeg": "jpeg",
	"image/gif":  "gif",
	"image/webp": "webp",
}

// sniff decides the content type of an upload from its bytes, never from
// what the client claims, and checks the kind's rules: avatars and images
// must be PNG, JPEG, GIF or WebP that decode within lim; voice must be
// audio. Any content is a valid "file". r holds size bytes; sniff leaves it
// at its start.
func sniff(ctx context.Context, r io.ReadSeeker, kind file.Kind, size int64, lim imageLimits) (string, error) {
	head := make([]byte, 512)
	n, err := io.ReadFull(r, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return "", fmt.Errorf("files: sniff: %w", err)
	}
	head = head[:n]
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return "", fmt.Errorf("files: sniff: rewind: %w", err)
	}
	detected := http.DetectContentType(head)
	switch kind {
	case file.KindAvatar, file.KindImage:
		if err := checkImage(ctx, r, detected, size, lim); err != nil {
			return "", err
		}
		return detected, nil
	case file.KindVoice:
		audio, ok := audioType(head, detected)
		if !ok {
			return "", invalid("a voice message must be audio, not %s", baseType(detected))
		}
		return audio, nil
	}
	return detected, nil
}

// imageLimits bound the images Upload decodes (see decode.go).
type imageLimits struct {
	// maxPixels bounds width × height, maxDecodeBytes the memory one decode
	// takes (decodeCost).
	maxPixels, maxDecodeBytes int64
	// slots is how many decodes may run at once, across all requests: each
	// holds up to maxDecodeBytes and a core.
	slots *semaphore.Weighted
}

// checkImage reads the image's header, refuses it if it has more than
// lim.maxPixels pixels (FILE_TOO_LARGE) or would take more than
// lim.maxDecodeBytes to decode (IMAGE_TOO_LARGE), then decodes it whole in
// one of lim.slots, waiting for one as long as ctx lets it. A cancelled
// request stops waiting, or stops decoding at its next read. It leaves r at
// its start.
func checkImage(ctx context.Context, r io.ReadSeeker, detected string, size int64, lim imageLimits) error {
	format, ok := imageTypes[detected]
	if !ok {
		return invalid("not a PNG, JPEG, GIF or WebP image (%s)", baseType(detected))
	}
	cfg, got, err := image.DecodeConfig(r)
	if err != nil || got != format {
		return invalid("the %s image cannot be read", format)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return invalid("the image is empty")
	}
	// The layout is read before the size is judged: a damaged file whose
	// few bytes happen to declare a huge image is damaged, not too large.
	cost, err := decodeCost(r, format, cfg, size)
	switch {
	case errors.Is(err, errHeader):
		return invalid("the %s image cannot be read", format)
	case err != nil:
		return fmt.Errorf("files: sniff: %w", err)
	case int64(cfg.Width)*int64(cfg.Height) > lim.maxPixels:
		return apperr.Input(apperr.ReasonFileTooLarge, "file",
			"the image is %d×%d pixels; at most %d pixels are allowed", cfg.Width, cfg.Height, lim.maxPixels)
	case cost > lim.maxDecodeBytes:
		return apperr.Input(ReasonImageTooLarge, "file",
			"the %d×%d %s image would take %s of memory to decode; at most %s is allowed",
			cfg.Width, cfg.Height, strings.ToUpper(format), HumanSize(cost), HumanSize(lim.maxDecodeBytes))
	}

	if err := lim.slots.Acquire(ctx, 1); err != nil {
		return fmt.Errorf("files: wait to decode: %w", err)
	}
	defer lim.slots.Release(1)
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("files: sniff: rewind: %w", err)
	}
	if _, _, err := image.Decode(ctxReader{ctx, r}); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("files: decode: %w", ctx.Err())
		}
		return invalid("the %s image is damaged", format)
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("files: sniff: rewind: %w", err)
	}
	return nil
}

// ctxReader fails its reads once ctx is done, which ends a decode whose
// request was cancelled or timed out.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// audioType returns the audio content type of a voice recording. Besides
// what http.DetectContentType calls audio/*, it accepts what browsers'
// MediaRecorder and phones produce: Ogg (Firefox), WebM (Chrome, which the
// sniffer calls video/webm), MP4/M4A (Safari, video/mp4), AMR (Android), and
// MP3 or AAC frames without a header.
func audioType(head []byte, detected string) (string, bool) {
	base := baseType(detected)
	switch {
	case strings.HasPrefix(base, "audio/"):
		return base, true
	case base == "application/ogg":
		return "audio/ogg", true
	case base == "video/webm":
		return "audio/webm", true
	case base == "video/mp4":
		return "audio/mp4", true
	case bytes.HasPrefix(head, []byte("#!AMR")):
		return "audio/amr", true
	case len(head) >= 2 && head[0] == 0xFF && head[1]&0xF6 == 0xF0: // ADTS
		return "audio/aac", true
	case len(head) >= 2 && head[0] == 0xFF && head[1]&0xE0 == 0xE0: // MPEG audio frame
		return "audio/mpeg", true
	}
	return "", false
}

// baseType is a content type without its parameters.
func baseType(contentType string) string {
	if base, _, err := mime.ParseMediaType(contentType); err == nil {
		return base
	}
	return contentType
}

// inline reports whether a stored content type is served as itself, shown
// in the page; anything else is served as an application/octet-stream
// attachment, so that an uploaded HTML or SVG never runs in Parley's origin.
func inline(contentType string) bool {
	base := baseType(contentType)
	_, isImage := imageTypes[base]
	return isImage || strings.HasPrefix(base, "audio/")
}

// extensions name the default file of each content type a nameless upload
// gets.
var extensions = map[string]string{
	"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif", "image/webp": ".webp",
	"audio/ogg": ".ogg", "audio/webm": ".webm", "audio/mp4": ".m4a", "audio/mpeg": ".mp3",
	"audio/aac": ".aac", "audio/amr": ".amr", "audio/wave": ".wav",
	"application/pdf": ".pdf", "text/plain": ".txt", "application/zip": ".zip",
}

// nameOr returns name, or a default name for the kind and content type when
// nothing was left of it.
func nameOr(name string, kind file.Kind, contentType string) string {
	if name != "" {
		return name
	}
	return string(kind) + extensions[baseType(contentType)]
}
