package files

import (
	"bytes"
	"context"
	"testing"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/parley-im/parley/ent/file"
	"github.com/parley-im/parley/internal/platform/apperr"
)

// fuzzSlots never makes FuzzSniff wait: each of its workers decodes one
// image at a time anyway.
var fuzzSlots = semaphore.NewWeighted(1 << 10)

// FuzzSniff checks the content checks of uploads on any bytes, for every
// kind: never a panic, a content type or a client error (FILE_INVALID,
// FILE_TOO_LARGE, IMAGE_TOO_LARGE), and images within the pixel and decode
// bounds only.
func FuzzSniff(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, kind := range []file.Kind{file.KindAvatar, file.KindImage, file.KindVoice, file.KindFile} {
			lim := imageLimits{maxPixels: 1 << 16, maxDecodeBytes: 4 << 20, slots: fuzzSlots}
			ct, err := sniff(context.Background(), bytes.NewReader(data), kind, int64(len(data)), lim)
			if err != nil {
				e, ok := apperr.As(err)
				if !ok || e.Code != apperr.BadUserInput ||
					(e.Reason != apperr.ReasonFileInvalid && e.Reason != apperr.ReasonFileTooLarge && e.Reason != ReasonImageTooLarge) {
					t.Fatalf("sniff(%s): %v", kind, err)
				}
				continue
			}
			if ct == "" {
				t.Fatalf("sniff(%s): no content type", kind)
			}
		}
	})
}

// FuzzSignedToken: a private file's URL token (?t=) from a client never
// panics the verifier and never verifies unless the signer made it (the
// fuzzer cannot forge the MAC); a token the signer makes verifies for its
// file and user only.
func FuzzSignedToken(f *testing.F) {
	s := NewSigner([]byte("fuzz-secret-fuzz-secret-fuzz-secret!"), time.Hour, time.Now)
	f.Fuzz(func(t *testing.T, token string, fileID int) {
		uid, state := s.Verify(fileID, token)
		if state == TokenValid && token != s.Token(fileID, uid) {
			t.Fatalf("token %q verifies for file %d, user %d", token, fileID, uid)
		}
		made := s.Token(fileID, 7)
		if uid, state := s.Verify(fileID, made); state != TokenValid || uid != 7 {
			t.Fatalf("own token for file %d: user %d, state %v", fileID, uid, state)
		}
		if _, state := s.Verify(fileID+1, made); state == TokenValid {
			t.Fatalf("token of file %d verifies for file %d", fileID, fileID+1)
		}
	})
}
