package files

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"mime"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"github.com/stretchr/testify/require"
	"gocloud.dev/blob/memblob"
	"golang.org/x/sync/semaphore"
	"modernc.org/sqlite"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/conversation"
	"github.com/parley-im/parley/ent/file"
	_ "github.com/parley-im/parley/ent/runtime"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/files/filestest"
	"github.com/parley-im/parley/internal/platform/apperr"
)

func init() { sql.Register("sqlite3", &sqlite.Driver{}) }

// Small valid images of every accepted format. Go has no WebP encoder; these
// are the 1×1 lossless and lossy WebP files browsers' feature tests use.
var (
	webpLossless, _ = base64.StdEncoding.DecodeString("UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==")
	webpLossy, _    = base64.StdEncoding.DecodeString("UklGRiIAAABXRUJQVlA4IBYAAAAwAQCdASoBAAEADsD+JaQAA3AAAAAA")
)

func TestSniff(t *testing.T) {
	ogg := append([]byte("OggS\x00\x02"), make([]byte, 40)...)
	wav := append([]byte("RIFF\x24\x00\x00\x00WAVEfmt "), make([]byte, 40)...)
	webm := append([]byte{0x1A, 0x45, 0xDF, 0xA3}, []byte("\x9fB\x86\x81\x01B\xf7\x81\x01B\xf2\x81\x04B\xf3\x81\x08B\x82\x84webm")...)
	png := filestest.PNG(8, 8)
	for _, c := range []struct {
		name   string
		kind   file.Kind
		data   []byte
		want   string // content type, or the reason of the refusal
		reason bool
	}{
		{"png image", file.KindImage, png, "image/png", false},
		{"jpeg avatar", file.KindAvatar, filestest.JPEG(8, 8), "image/jpeg", false},
		{"gif image", file.KindImage, filestest.GIF(8, 8), "image/gif", false},
		{"lossless webp", file.KindImage, webpLossless, "image/webp", false},
		{"lossy webp", file.KindImage, webpLossy, "image/webp", false},
		{"text as image", file.KindImage, []byte("hello, world"), apperr.ReasonFileInvalid, true},
		{"svg as image", file.KindImage, []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), apperr.ReasonFileInvalid, true},
		{"truncated png", file.KindImage, png[:len(png)-20], apperr.ReasonFileInvalid, true},
		{"too many pixels", file.KindImage, filestest.PNG(20, 20), apperr.ReasonFileTooLarge, true},
		{"too many gif pixels", file.KindImage, filestest.GIF(20, 20), apperr.ReasonFileTooLarge, true},
		{"gif header then garbage", file.KindImage, []byte("GIF89a garbage"), apperr.ReasonFileInvalid, true},
		{"gif without a frame", file.KindImage, filestest.GIF(8, 8)[:13], apperr.ReasonFileInvalid, true},
		{"png header then garbage", file.KindImage, append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x7f\xff\x00\x00\x7f\xff\x08\x02\x00\x00\x00"), "garbage"...), apperr.ReasonFileInvalid, true},
		{"ogg voice", file.KindVoice, ogg, "audio/ogg", false},
		{"wav voice", file.KindVoice, wav, "audio/wave", false},
		{"webm voice", file.KindVoice, webm, "audio/webm", false},
		{"amr voice", file.KindVoice, []byte("#!AMR\n\x3c\x00\x00"), "audio/amr", false},
		{"mp3 voice", file.KindVoice, append([]byte("ID3\x03\x00"), make([]byte, 20)...), "audio/mpeg", false},
		{"image as voice", file.KindVoice, png, apperr.ReasonFileInvalid, true},
		{"html file", file.KindFile, []byte("<html><script>alert(1)</script>"), "text/html; charset=utf-8", false},
		{"pdf file", file.KindFile, []byte("%PDF-1.4 ..."), "application/pdf", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := bytes.NewReader(c.data)
			got, err := sniff(context.Background(), r, c.kind, int64(len(c.data)), testLimits(100))
			if c.reason {
				e, ok := apperr.As(err)
				require.True(t, ok, "error %v", err)
				require.Equal(t, c.want, e.Reason)
				return
			}
			require.NoError(t, err)
			require.Equal(t, c.want, got)
			pos, _ := r.Seek(0, 1)
			require.Zero(t, pos, "sniff leaves the reader at its start")
		})
	}
}

// testLimits bound images to maxPixels, 16 MiB of decoding and one decode
// at a time.
func testLimits(maxPixels int64) imageLimits {
	return imageLimits{maxPixels: maxPixels, maxDecodeBytes: 16 << 20, slots: semaphore.NewWeighted(1)}
}

func TestInline(t *testing.T) {
	for ct, want := range map[string]bool{
		"image/png": true, "image/webp": true, "audio/ogg": true, "audio/mpeg": true,
		"image/svg+xml": false, "text/html; charset=utf-8": false, "application/pdf": false, "video/webm": false,
	} {
		require.Equal(t, want, inline(ct), ct)
	}
}

func TestSigner(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	s := NewSigner([]byte("a secret of the server, 32 bytes!"), time.Hour, func() time.Time { return now })
	tok := s.Token(42, 7)

	uid, state := s.Verify(42, tok)
	require.Equal(t, TokenValid, state)
	require.Equal(t, 7, uid)

	require.Equal(t, tok, s.Token(42, 7), "same window, same URL: browsers cache it")
	_, state = s.Verify(43, tok)
	require.Equal(t, TokenInvalid, state, "a token is for one file")
	parts := strings.Split(tok, ".")
	_, state = s.Verify(42, parts[0]+".8."+parts[2])
	require.Equal(t, TokenInvalid, state, "the user cannot be swapped")
	_, state = s.Verify(42, "zzzzzz."+parts[1]+"."+parts[2])
	require.Equal(t, TokenInvalid, state, "the expiry cannot be extended")
	for _, bad := range []string{"", "x", "a.b", "a.b.c.d", tok + "x"} {
		_, state = s.Verify(42, bad)
		require.Equal(t, TokenInvalid, state, bad)
	}
	other := NewSigner([]byte("another secret, also 32 bytes!!!"), time.Hour, func() time.Time { return now })
	_, state = other.Verify(42, tok)
	require.Equal(t, TokenInvalid, state, "another server secret")

	now = now.Add(59 * time.Minute)
	_, state = s.Verify(42, tok)
	require.Equal(t, TokenValid, state, "valid for at least the TTL")
	now = now.Add(2 * time.Hour)
	uid, state = s.Verify(42, tok)
	require.Equal(t, TokenExpired, state, "and at most twice the TTL")
	require.Equal(t, 7, uid)
}

func TestHumanSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 812: "812 B", 1_234_567: "1.2 MB", 45_000_000: "45 MB", 5 << 20: "5.2 MB"} {
		require.Equal(t, want, HumanSize(n))
	}
}

func TestContentDisposition(t *testing.T) {
	require.Equal(t, `attachment; filename="report 2024.pdf"`, ContentDisposition("attachment", "report 2024.pdf"))
	h := ContentDisposition("inline", "报告 \"终稿\".png")
	require.Equal(t, `inline; filename="__ ____.png"; filename*=utf-8''%E6%8A%A5%E5%91%8A%20%22%E7%BB%88%E7%A8%BF%22.png`, h)
	_, params, err := mime.ParseMediaType(h)
	require.NoError(t, err)
	require.Equal(t, "报告 \"终稿\".png", params["filename"], "filename* wins for a reader of RFC 6266")
}

func TestCheckStorageURL(t *testing.T) {
	for _, ok := range []string{"", "mem://", "s3://bucket?region=us-east-1", "gs://bucket", "file:///var/lib/parley"} {
		require.NoError(t, CheckStorageURL(ok), ok)
	}
	for _, bad := range []string{"ftp://x", "s3://", "/var/lib/parley", "azblob://c", "::"} {
		require.Error(t, CheckStorageURL(bad), bad)
	}
}

// The service tests below run on SQLite and an in-memory bucket; the HTTP
// tests in server/app run the same paths through the real server.

var migrateMu sync.Mutex // ent migrations touch package-level state

type env struct {
	client *ent.Client
	svc    *Service
	users  []int
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dsn := "file:" + filepath.Join(t.TempDir(), "f.db") + "?_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)"
	db, err := sql.Open("sqlite3", dsn)
	require.NoError(t, err)
	client := ent.NewClient(ent.Driver(entsql.OpenDB(dialect.SQLite, db)))
	t.Cleanup(func() { client.Close() })
	migrateMu.Lock()
	err = client.Schema.Create(context.Background())
	migrateMu.Unlock()
	require.NoError(t, err)
	e := &env{client: client, svc: New(client, memblob.OpenBucket(nil), []byte("test-secret-test-secret-test-secret!"), Options{
		MaxBytes: map[file.Kind]int64{file.KindImage: 1 << 20},
	})}
	t.Cleanup(func() { e.svc.Close() })
	for i, name := range []string{"alice", "bob", "carol"} {
		u, err := client.User.Create().SetUsername(name).SetPasswordHash("x").SetPublicID(int64(1000 + i)).
			Save(viewer.SystemContext(context.Background()))
		require.NoError(t, err)
		e.users = append(e.users, u.ID)
	}
	return e
}

// signedIn is the context of a request by the env's user i.
func (e *env) signedIn(i int) context.Context {
	return viewer.NewContext(context.Background(), &viewer.Viewer{UserID: e.users[i]})
}

// direct opens a conversation between users i and j.
func (e *env) direct(t *testing.T, i, j int) int {
	sys := viewer.SystemContext(context.Background())
	c, err := e.client.Conversation.Create().SetKind(conversation.KindDirect).Save(sys)
	require.NoError(t, err)
	for _, u := range []int{i, j} {
		require.NoError(t, e.client.ConversationMember.Create().SetConversationID(c.ID).SetUserID(e.users[u]).Exec(sys))
	}
	return c.ID
}

func upload(data []byte, name string) Incoming {
	return Incoming{Body: bytes.NewReader(data), Size: int64(len(data)), Filename: name}
}

func reasonOf(t *testing.T, err error) string {
	t.Helper()
	e, ok := apperr.As(err)
	require.True(t, ok, "want an apperr, got %v", err)
	return e.Reason
}

func TestUploadRules(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.signedIn(0)

	_, err := e.svc.Upload(context.Background(), upload(filestest.PNG(4, 4), "a.png"), file.KindImage)
	require.Equal(t, apperr.ReasonSignInRequired, reasonOf(t, err))

	img, err := e.svc.Upload(alice, upload(filestest.PNG(4, 4), "../x/a.png"), file.KindImage)
	require.NoError(t, err)
	require.Equal(t, "a.png", img.Name)
	require.Equal(t, "image/png", img.ContentType)
	require.False(t, img.Public)
	require.Len(t, img.Sha256, 64)
	require.Equal(t, "sha256/"+img.Sha256[:2]+"/"+img.Sha256, img.StorageKey)

	again, err := e.svc.Upload(alice, upload(filestest.PNG(4, 4), "../x/a.png"), file.KindImage)
	require.NoError(t, err)
	require.Equal(t, img.ID, again.ID, "same owner, content, kind and name (a retry): the same file")
	renamed, err := e.svc.Upload(alice, upload(filestest.PNG(4, 4), "other name.png"), file.KindImage)
	require.NoError(t, err)
	require.NotEqual(t, img.ID, renamed.ID, "another name is another file")
	require.Equal(t, "other name.png", renamed.Name)
	require.Equal(t, img.StorageKey, renamed.StorageKey, "on the same stored bytes")

	avatar, err := e.svc.Upload(alice, upload(filestest.PNG(4, 4), ""), file.KindAvatar)
	require.NoError(t, err)
	require.NotEqual(t, img.ID, avatar.ID, "another kind is another file")
	require.True(t, avatar.Public)
	require.Equal(t, "avatar.png", avatar.Name, "a nameless upload is named after its kind")
	require.Equal(t, img.StorageKey, avatar.StorageKey, "the bytes are stored once")

	big := append(filestest.PNG(4, 4), make([]byte, 1<<20)...)
	_, err = e.svc.Upload(alice, upload(big, "big.png"), file.KindImage)
	require.Equal(t, apperr.ReasonFileTooLarge, reasonOf(t, err))
	lying := upload(big, "big.png")
	lying.Size = 10
	_, err = e.svc.Upload(alice, lying, file.KindImage)
	require.Equal(t, apperr.ReasonFileTooLarge, reasonOf(t, err), "the bytes count, not the declared size")

	_, err = e.svc.Upload(alice, upload(nil, "empty"), file.KindFile)
	require.Equal(t, apperr.ReasonFileInvalid, reasonOf(t, err))
}

func TestAttach(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice, bob, carol := e.signedIn(0), e.signedIn(1), e.signedIn(2)
	withBob, withCarol, bobCarol := e.direct(t, 0, 1), e.direct(t, 0, 2), e.direct(t, 1, 2)

	f, err := e.svc.Upload(alice, upload([]byte("%PDF-1.4 minutes"), "minutes.pdf"), file.KindFile)
	require.NoError(t, err)
	_, err = e.client.File.Get(bob, f.ID)
	require.True(t, ent.IsNotFound(err), "private until attached")

	_, err = e.svc.Attach(bob, f.ID, bobCarol)
	require.Equal(t, apperr.ReasonNotFound, reasonOf(t, err), "bob cannot see it")
	_, err = e.svc.Attach(alice, f.ID, bobCarol)
	require.Equal(t, apperr.ReasonNotFound, reasonOf(t, err), "alice is not in that conversation")

	sent, err := e.svc.Attach(alice, f.ID, withBob)
	require.NoError(t, err)
	require.Equal(t, f.ID, sent.ID)
	_, err = e.client.File.Get(bob, f.ID)
	require.NoError(t, err, "bob reads it now")
	_, err = e.client.File.Get(carol, f.ID)
	require.True(t, ent.IsNotFound(err))

	_, err = e.svc.Attach(bob, f.ID, withBob)
	require.Equal(t, apperr.ReasonNotAllowed, reasonOf(t, err), "only the owner attaches")

	same, err := e.svc.Attach(alice, f.ID, withBob)
	require.NoError(t, err)
	require.Equal(t, f.ID, same.ID, "attaching twice is a no-op")

	copied, err := e.svc.Attach(alice, f.ID, withCarol)
	require.NoError(t, err)
	require.NotEqual(t, f.ID, copied.ID, "a second conversation gets its own row")
	require.Equal(t, f.StorageKey, copied.StorageKey)
	_, err = e.client.File.Get(carol, copied.ID)
	require.NoError(t, err)
	_, err = e.client.File.Get(bob, f.ID)
	require.NoError(t, err, "bob keeps the first one")

	fresh, err := e.svc.Upload(alice, upload([]byte("%PDF-1.4 minutes"), "minutes.pdf"), file.KindFile)
	require.NoError(t, err)
	require.NotEqual(t, f.ID, fresh.ID, "dedupe returns only files not yet sent")
}

func TestServeFile(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.signedIn(0)
	f, err := e.svc.Upload(alice, upload([]byte("<html><script>alert(1)</script>"), "页面.html"), file.KindFile)
	require.NoError(t, err)

	get := func(ctx context.Context, target string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", target, nil).WithContext(ctx)
		e.svc.ServeFile(w, r, strings.Split(target, "/")[2])
		return w
	}
	url := e.svc.URL(alice, f)
	require.Contains(t, url, "?t=")

	w := get(context.Background(), url)
	require.Equal(t, http.StatusOK, w.Code)
	require.Equal(t, "application/octet-stream", w.Header().Get("Content-Type"), "HTML is never served as HTML")
	require.True(t, strings.HasPrefix(w.Header().Get("Content-Disposition"), "attachment; "))
	require.Equal(t, "nosniff", w.Header().Get("X-Content-Type-Options"))
	require.Equal(t, "private, no-cache", w.Header().Get("Cache-Control"))

	plain := strings.Split(url, "?")[0]
	require.Equal(t, http.StatusNotFound, get(context.Background(), plain).Code, "no token, no viewer")
	require.Equal(t, http.StatusNotFound, get(e.signedIn(1), plain).Code, "bob may not read it")
	require.Equal(t, http.StatusOK, get(alice, plain).Code, "its owner may")
	require.Equal(t, http.StatusNotFound, get(context.Background(), "/files/x/y").Code)
}
