package app_test

// Files and QR codes through the real server: uploads as GraphQL multipart
// requests, downloads by signed URL and by bearer token, headers, settings,
// QR codes, and S3 storage.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"hash"
	"image"
	"image/png"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/files"
	"github.com/parley-im/parley/internal/files/filestest"
	"github.com/parley-im/parley/internal/platform/dbtest"
	"github.com/parley-im/parley/server/app"
	"github.com/parley-im/parley/server/apptest"
)

// oggVoice starts like an Ogg Opus recording, which is all sniffing reads.
var oggVoice = append([]byte("OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00OpusHead"), bytes.Repeat([]byte{1}, 200)...)

const uploadMutation = `mutation($file: Upload!, $kind: FileKind!) {
  uploadFile(file: $file, kind: $kind) { id name kind contentType size sha256 public url humanSize owner { id } }
}`

type uploaded struct {
	ID, Name, Kind, ContentType, Sha256, URL, HumanSize string
	Size                                                int64
	Public                                              bool
	Owner                                               struct{ ID string }
}

// multipartUpload builds the upload of data (uploadRequest).
func (s *server) multipartUpload(token, kind, name string, data []byte, header http.Header) *http.Request {
	s.T.Helper()
	return s.uploadRequest(token, kind, name, bytes.NewReader(data), int64(len(data)), header)
}

// uploadRequest builds the request of the GraphQL multipart request spec:
// an operations part, a map part, then the file, whose size bytes file
// gives while the request is sent (-1: an unknown size, sent chunked),
// with a bearer token unless it is empty and the headers in header.
func (s *server) uploadRequest(token, kind, name string, file io.Reader, size int64, header http.Header) *http.Request {
	s.T.Helper()
	var head bytes.Buffer
	mw := multipart.NewWriter(&head)
	ops, _ := json.Marshal(map[string]any{"query": uploadMutation, "variables": map[string]any{"file": nil, "kind": kind}})
	mw.WriteField("operations", string(ops))
	mw.WriteField("map", `{"0": ["variables.file"]}`)
	_, err := mw.CreateFormFile("0", name)
	require.NoError(s.T, err)
	prefix := bytes.Clone(head.Bytes())
	require.NoError(s.T, mw.Close())
	suffix := head.Bytes()[len(prefix):]
	body := io.MultiReader(bytes.NewReader(prefix), file, bytes.NewReader(suffix))
	req, _ := http.NewRequest("POST", s.URL+"/query", io.NopCloser(body))
	req.ContentLength = int64(len(prefix)) + size + int64(len(suffix))
	if size < 0 {
		req.ContentLength = -1
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Apollo-Require-Preflight", "true")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	return req
}

// tryUpload sends an upload and decodes the GraphQL response.
func (s *server) tryUpload(token, kind, name string, data []byte, header http.Header) (response, uploaded) {
	s.T.Helper()
	res, err := http.DefaultClient.Do(s.multipartUpload(token, kind, name, data, header))
	require.NoError(s.T, err)
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var r response
	require.NoError(s.T, json.Unmarshal(raw, &r), string(raw))
	r.Status = res.StatusCode
	var out struct{ UploadFile uploaded }
	if len(r.Data) > 0 {
		json.Unmarshal(r.Data, &out)
	}
	return r, out.UploadFile
}

// upload sends an upload that must succeed.
func (s *server) upload(token, kind, name string, data []byte) uploaded {
	s.T.Helper()
	r, f := s.tryUpload(token, kind, name, data, nil)
	require.Empty(s.T, r.Errors, "upload %s %q", kind, name)
	return f
}

// errorOf decodes the {"errors":[...]} body of a refused HTTP request.
func errorOf(t *testing.T, body []byte) apptest.Error {
	t.Helper()
	var r response
	require.NoError(t, json.Unmarshal(body, &r), string(body))
	require.NotEmpty(t, r.Errors, string(body))
	return r.Errors[0]
}

// sha256Hex is the hex SHA-256 of data, as files report it.
func sha256Hex(data []byte) string {
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}

func TestUploadKinds(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		alice := s.Register("alice", nil)
		face, photo, pdf := filestest.PNG(64, 64), filestest.JPEG(320, 200), []byte("%PDF-1.4\n% minutes of the meeting\n")

		for _, c := range []struct {
			kind, name  string
			data        []byte
			contentType string
			public      bool
		}{
			{"avatar", "me.png", face, "image/png", true},
			{"image", "holiday.jpg", photo, "image/jpeg", false},
			{"voice", "", oggVoice, "audio/ogg", false},
			{"file", "minutes.pdf", pdf, "application/pdf", false},
		} {
			f := s.upload(alice.Token, c.kind, c.name, c.data)
			require.Equal(t, c.kind, f.Kind)
			require.Equal(t, c.contentType, f.ContentType)
			require.Equal(t, int64(len(c.data)), f.Size)
			require.Equal(t, sha256Hex(c.data), f.Sha256, "the content's checksum")
			require.Equal(t, c.public, f.Public)
			require.Equal(t, alice.ID, f.Owner.ID)
			require.Equal(t, files.HumanSize(int64(len(c.data))), f.HumanSize, "human size")
			if c.name != "" {
				require.Equal(t, c.name, f.Name, "the original name is kept")
			} else {
				require.Equal(t, "voice.ogg", f.Name)
			}
			require.True(t, strings.HasPrefix(f.URL, "/files/"+f.ID+"/"), f.URL)
			require.Equal(t, !c.public, strings.Contains(f.URL, "?t="), "private URLs are signed: %s", f.URL)

			res, body := s.Get(f.URL, "", nil) // as an <img src>: no header
			require.Equal(t, http.StatusOK, res.StatusCode, "%s: %s", f.URL, body)
			require.Equal(t, c.data, body)
		}
	})
}

func TestUploadRefusals(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		cfg := apptest.Config(t, b.URL(t))
		cfg.MaxImageBytes, cfg.MaxAvatarBytes = 64<<10, 64<<10
		cfg.MaxVoiceBytes, cfg.MaxFileBytes = 128<<10, 256<<10
		cfg.MaxImagePixels = 1_000_000
		s := start(t, cfg)
		alice := s.Register("alice", nil)

		r, _ := s.tryUpload(alice.Token, "image", "notes.png", []byte("just some text, not an image"), nil)
		require.Equal(t, "BAD_USER_INPUT", r.Code())
		require.Equal(t, "FILE_INVALID", r.Reason())
		require.Equal(t, "file", r.Ext("field"))

		r, _ = s.tryUpload(alice.Token, "avatar", "page.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`), nil)
		require.Equal(t, "FILE_INVALID", r.Reason(), "SVG can carry script")

		r, _ = s.tryUpload(alice.Token, "voice", "song.png", filestest.PNG(8, 8), nil)
		require.Equal(t, "FILE_INVALID", r.Reason(), "voice must be audio")

		for _, damaged := range []string{"GIF89a garbage", "\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x7f\xff\x00\x00\x7f\xff\x08\x02\x00\x00\x00 garbage"} {
			r, _ = s.tryUpload(alice.Token, "image", "broken.gif", []byte(damaged), nil)
			require.Equal(t, "FILE_INVALID", r.Reason(), "a damaged image declaring a huge size is damaged: %q", damaged)
			r, _ = s.tryUpload(alice.Token, "avatar", "broken.gif", []byte(damaged), nil)
			require.Equal(t, "FILE_INVALID", r.Reason(), "as an avatar too")
		}

		r, _ = s.tryUpload(alice.Token, "image", "huge.png", filestest.PNG(2000, 1000), nil)
		require.Equal(t, "FILE_TOO_LARGE", r.Reason(), "two megapixels over a one-megapixel limit")

		big := append(filestest.PNG(8, 8), make([]byte, 100<<10)...)
		r, _ = s.tryUpload(alice.Token, "image", "big.png", big, nil)
		require.Equal(t, "BAD_USER_INPUT", r.Code())
		require.Equal(t, "FILE_TOO_LARGE", r.Reason(), "over the image limit")
		s.upload(alice.Token, "file", "big.png", big) // a file may be that large

		res, err := http.DefaultClient.Do(s.multipartUpload(alice.Token, "file", "huge.bin", make([]byte, 2<<20), nil))
		require.NoError(t, err)
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		require.Equal(t, http.StatusRequestEntityTooLarge, res.StatusCode, "over every limit: refused unread")
		require.Equal(t, "FILE_TOO_LARGE", errorOf(t, body).Extensions["reason"])

		req := s.multipartUpload(alice.Token, "image", "a.png", filestest.PNG(8, 8), nil)
		req.Header.Del("Apollo-Require-Preflight")
		res, err = http.DefaultClient.Do(req)
		require.NoError(t, err)
		body, _ = io.ReadAll(res.Body)
		res.Body.Close()
		require.Equal(t, http.StatusBadRequest, res.StatusCode, "CSRF guard")
		e := errorOf(t, body)
		require.Equal(t, "BAD_USER_INPUT", e.Extensions["code"])
		require.Equal(t, "CSRF_PREFLIGHT_REQUIRED", e.Extensions["reason"])

		r, f := s.tryUpload(alice.Token, "image", "a.png", filestest.PNG(8, 8),
			http.Header{"Apollo-Require-Preflight": nil, "X-Apollo-Operation-Name": {"Upload"}})
		require.Empty(t, r.Errors, "X-Apollo-Operation-Name is enough")
		require.Equal(t, "image/png", f.ContentType)

		r, _ = s.tryUpload("", "image", "a.png", filestest.PNG(8, 8), nil)
		require.Equal(t, "UNAUTHENTICATED", r.Code(), "anonymous upload")

		// Plain JSON bodies keep their own, smaller limit.
		huge := `{"query":"{ me { id } }","variables":{"pad":"` + strings.Repeat("x", int(cfg.MaxBodyBytes)) + `"}}`
		req, _ = http.NewRequest("POST", s.URL+"/query", strings.NewReader(huge))
		req.Header.Set("Content-Type", "application/json")
		res, err = http.DefaultClient.Do(req)
		require.NoError(t, err)
		body, _ = io.ReadAll(res.Body)
		res.Body.Close()
		require.NotEqual(t, http.StatusOK, res.StatusCode, "a JSON body over -max-body-bytes: %s", body)
	})
}

// blobs counts the stored objects of a local upload directory.
func blobs(t *testing.T, dir string) int {
	n := 0
	require.NoError(t, filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return err
	}))
	return n
}

func TestUploadDedupe(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		cfg := apptest.Config(t, b.URL(t))
		s := start(t, cfg)
		alice, bob := s.Register("alice", nil), s.Register("bob", nil)
		img := filestest.PNG(32, 32)

		first := s.upload(alice.Token, "image", "one.png", img)
		again := s.upload(alice.Token, "image", "one.png", img)
		require.Equal(t, first.ID, again.ID, "same owner, content, kind and name (a retry): the same File")
		second := s.upload(alice.Token, "image", "two.png", img)
		require.NotEqual(t, first.ID, second.ID, "another name: another File")
		require.Equal(t, "two.png", second.Name)
		var named struct{ Node struct{ Name string } }
		s.OK(alice.Token, `query($id: ID!) { node(id: $id) { ... on File { name } } }`, map[string]any{"id": first.ID}, &named)
		require.Equal(t, "one.png", named.Node.Name, "the first keeps its name")
		res, body := s.Get(second.URL, "", nil)
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.Equal(t, img, body, "both serve the same bytes")

		avatar := s.upload(alice.Token, "avatar", "one.png", img)
		theirs := s.upload(bob.Token, "image", "one.png", img)
		require.NotEqual(t, first.ID, avatar.ID, "another kind")
		require.NotEqual(t, first.ID, theirs.ID, "another owner")
		require.Equal(t, 1, blobs(t, cfg.UploadDir), "the bytes are stored once")

		s.upload(alice.Token, "image", "other.png", filestest.PNG(33, 32))
		require.Equal(t, 2, blobs(t, cfg.UploadDir))
	})
}

func TestFileAccess(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		cfg := apptest.Config(t, b.URL(t))
		s := start(t, cfg)
		alice, bob, carol := s.Register("alice", nil), s.Register("bob", nil), s.Register("carol", nil)
		data := filestest.JPEG(40, 30)
		f := s.upload(alice.Token, "image", "private.jpg", data)
		plain := strings.Split(f.URL, "?")[0]

		res, body := s.Get(f.URL, "", nil)
		require.Equal(t, http.StatusOK, res.StatusCode, "signed URL, no header")
		require.Equal(t, data, body)
		res, _ = s.Get(plain, alice.Token, nil)
		require.Equal(t, http.StatusOK, res.StatusCode, "bearer token of the owner")
		res, body = s.Get(plain, bob.Token, nil)
		require.Equal(t, http.StatusNotFound, res.StatusCode, "a stranger: as if it did not exist")
		require.Equal(t, "NOT_FOUND", errorOf(t, body).Extensions["code"])
		res, _ = s.Get(plain, "", nil)
		require.Equal(t, http.StatusNotFound, res.StatusCode, "anonymous")
		res, _ = s.Get("/files/999999999/x.jpg", alice.Token, nil)
		require.Equal(t, http.StatusNotFound, res.StatusCode, "missing")

		// A forged or tampered token is no token: 404 for anyone else.
		u, _ := url.Parse(f.URL)
		tok := u.Query().Get("t")
		parts := strings.Split(tok, ".")
		for _, bad := range []string{tok[:len(tok)-2] + "xx", parts[0] + "." + strconv.Itoa(42) + "." + parts[2], "garbage"} {
			res, _ = s.Get(plain+"?t="+url.QueryEscape(bad), "", nil)
			require.Equal(t, http.StatusNotFound, res.StatusCode, "token %q", bad)
		}
		// A token for one file does not open another.
		other := s.upload(alice.Token, "image", "other.png", filestest.PNG(9, 9))
		res, _ = s.Get(strings.Split(other.URL, "?")[0]+"?t="+tok, "", nil)
		require.Equal(t, http.StatusNotFound, res.StatusCode)

		// An authentic but expired token: 403 URL_EXPIRED, so that the
		// client fetches the url again.
		id, _ := strconv.Atoi(f.ID)
		aliceID, _ := strconv.Atoi(alice.ID)
		past := files.NewSigner(cfg.JWTSecret, time.Minute, func() time.Time { return time.Now().Add(-time.Hour) })
		res, body = s.Get(plain+"?t="+past.Token(id, aliceID), "", nil)
		require.Equal(t, http.StatusForbidden, res.StatusCode)
		require.Equal(t, "URL_EXPIRED", errorOf(t, body).Extensions["reason"])
		res, _ = s.Get(plain+"?t="+past.Token(id, aliceID), alice.Token, nil)
		require.Equal(t, http.StatusOK, res.StatusCode, "a bearer token still opens it")

		// Attach (what messaging calls when a message carries the file)
		// lets the conversation's members read it, and only them.
		var sent struct {
			SendMessage struct{ Conversation struct{ ID string } }
		}
		s.OK(alice.Token, `mutation($to: ID!) { sendMessage(input: {to: $to, text: "look"}) { conversation { id } } }`,
			map[string]any{"to": bob.ID}, &sent)
		conv, _ := strconv.Atoi(sent.SendMessage.Conversation.ID)
		ctx := viewer.NewContext(context.Background(), &viewer.Viewer{UserID: aliceID})
		attached, err := s.App.Files.Attach(ctx, id, conv)
		require.NoError(t, err)
		require.Equal(t, id, attached.ID)

		res, _ = s.Get(plain, bob.Token, nil)
		require.Equal(t, http.StatusOK, res.StatusCode, "bob is a member now")
		var seen struct {
			Node struct{ URL, Name string }
		}
		s.OK(bob.Token, `query($id: ID!) { node(id: $id) { ... on File { url name } } }`, map[string]any{"id": f.ID}, &seen)
		require.NotEqual(t, f.URL, seen.Node.URL, "bob's URL is signed for bob")
		res, body = s.Get(seen.Node.URL, "", nil)
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.Equal(t, data, body)
		res, _ = s.Get(plain, carol.Token, nil)
		require.Equal(t, http.StatusNotFound, res.StatusCode, "carol is not")

		bobID, _ := strconv.Atoi(bob.ID)
		_, err = s.App.Files.Attach(viewer.NewContext(context.Background(), &viewer.Viewer{UserID: bobID}), id, conv)
		require.Error(t, err, "only the owner attaches")
	})
}

func TestFileHeaders(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		alice := s.Register("alice", nil)

		// A document with a Chinese name: downloaded, never rendered.
		doc := []byte("<html><body><script>alert(document.cookie)</script></body></html>")
		f := s.upload(alice.Token, "file", "会议纪要.html", doc)
		res, body := s.Get(f.URL, "", nil)
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.Equal(t, doc, body)
		require.Equal(t, "application/octet-stream", res.Header.Get("Content-Type"), "never served as HTML")
		require.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"))
		require.Contains(t, res.Header.Get("Content-Security-Policy"), "sandbox")
		disposition, params, err := mime.ParseMediaType(res.Header.Get("Content-Disposition"))
		require.NoError(t, err)
		require.Equal(t, "attachment", disposition)
		require.Equal(t, "会议纪要.html", params["filename"], "RFC 6266 filename*: %s", res.Header.Get("Content-Disposition"))
		require.Contains(t, res.Header.Get("Content-Disposition"), `filename=____.html;`, "with an ASCII fallback")
		etag := res.Header.Get("ETag")
		require.Equal(t, `"`+sha256Hex(doc)+`"`, etag)
		require.Equal(t, "private, no-cache", res.Header.Get("Cache-Control"))

		res, body = s.Get(f.URL, "", http.Header{"If-None-Match": {etag}})
		require.Equal(t, http.StatusNotModified, res.StatusCode)
		require.Empty(t, body)
		res, body = s.Get(f.URL, "", http.Header{"Range": {"bytes=6-11"}})
		require.Equal(t, http.StatusPartialContent, res.StatusCode)
		require.Equal(t, "<body>", string(body))

		// An image is shown inline as itself.
		img := filestest.PNG(16, 16)
		pic := s.upload(alice.Token, "image", "图片.png", img)
		res, _ = s.Get(pic.URL, "", nil)
		require.Equal(t, "image/png", res.Header.Get("Content-Type"))
		disposition, params, _ = mime.ParseMediaType(res.Header.Get("Content-Disposition"))
		require.Equal(t, "inline", disposition)
		require.Equal(t, "图片.png", params["filename"])

		// A public avatar: anyone reads it, and caches it for good.
		avatar := s.upload(alice.Token, "avatar", "me.png", img)
		require.NotContains(t, avatar.URL, "?t=")
		res, body = s.Get(avatar.URL, "", nil)
		require.Equal(t, http.StatusOK, res.StatusCode, "anonymous reads a public avatar")
		require.Equal(t, img, body)
		require.Equal(t, "public, max-age=31536000, immutable", res.Header.Get("Cache-Control"))
		_, err = png.Decode(bytes.NewReader(body))
		require.NoError(t, err, "downloaded as an image")
	})
}

func TestUploadSettings(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		root, alice := s.Register("root", nil), s.Register("alice", nil)
		s.admin(root)
		root = s.relogin("root")

		s.settings(root, map[string]any{"uploadImage": false})
		for _, kind := range []string{"image", "avatar"} {
			r, _ := s.tryUpload(alice.Token, kind, "a.png", filestest.PNG(8, 8), nil)
			require.Equal(t, "FORBIDDEN", r.Code(), kind)
			require.Equal(t, "FEATURE_DISABLED", r.Reason(), kind)
		}
		s.upload(alice.Token, "file", "a.pdf", []byte("%PDF-1.4 still fine"))

		s.settings(root, map[string]any{"uploadImage": true, "uploadFile": false, "voice": false})
		s.upload(alice.Token, "image", "a.png", filestest.PNG(8, 8))
		r, _ := s.tryUpload(alice.Token, "file", "b.pdf", []byte("%PDF-1.4 refused"), nil)
		require.Equal(t, "FEATURE_DISABLED", r.Reason())
		r, _ = s.tryUpload(alice.Token, "voice", "v.ogg", oggVoice, nil)
		require.Equal(t, "FEATURE_DISABLED", r.Reason())
	})
}

// relogin signs name in again, so that the new token carries a changed role.
func (s *server) relogin(name string) account {
	s.T.Helper()
	var out struct {
		Login struct {
			AccessToken string
			User        struct{ ID string }
		}
	}
	s.OK("", `mutation($l: String!) { login(input: {login: $l, password: "password1"}) { accessToken user { id } } }`,
		map[string]any{"l": name}, &out)
	return account{ID: out.Login.User.ID, Token: out.Login.AccessToken}
}

func TestQRCode(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {

		res, body := s.Get("/qr?content="+url.QueryEscape("https://parley.example/g/42")+"&size=200", "", nil)
		require.Equal(t, http.StatusOK, res.StatusCode, string(body))
		require.Equal(t, "image/png", res.Header.Get("Content-Type"))
		require.Equal(t, "public, max-age=31536000, immutable", res.Header.Get("Cache-Control"))
		img, err := png.Decode(bytes.NewReader(body))
		require.NoError(t, err)
		require.Equal(t, image.Rect(0, 0, 200, 200), img.Bounds())

		res, _ = s.Get("/qr?content=hello", "", http.Header{"If-None-Match": {res.Header.Get("ETag")}})
		require.Equal(t, http.StatusOK, res.StatusCode, "another size, another ETag")
		res2, _ := s.Get("/qr?content=hello", "", http.Header{"If-None-Match": {res.Header.Get("ETag")}})
		require.Equal(t, http.StatusNotModified, res2.StatusCode)

		_, body = s.Get("/qr?content=hello", "", nil)
		img, err = png.Decode(bytes.NewReader(body))
		require.NoError(t, err)
		require.Equal(t, files.QRSizeDefault, img.Bounds().Dx(), "default size")

		res, _ = s.Get("/qr?content="+strings.Repeat("a", files.QRContentMax), "", nil)
		require.Equal(t, http.StatusOK, res.StatusCode, "the longest content")

		for q, reason := range map[string]string{
			"":          "REQUIRED",
			"?size=100": "REQUIRED",
			"?content=" + strings.Repeat("a", files.QRContentMax+1): "TOO_LONG",
			"?content=x&size=63":   "INVALID",
			"?content=x&size=1025": "INVALID",
			"?content=x&size=big":  "INVALID",
		} {
			res, body := s.Get("/qr"+q, "", nil)
			require.Equal(t, http.StatusBadRequest, res.StatusCode, q)
			require.Equal(t, reason, errorOf(t, body).Extensions["reason"], q)
		}
	})
}

func TestFriendQRCode(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		root, alice, bob := s.Register("root", nil), s.Register("alice", nil), s.Register("bob", nil)

		var me struct {
			Me struct {
				PublicID    json.Number
				FriendQrUrl *string
			}
		}
		s.OK(alice.Token, `{ me { publicID friendQrUrl } }`, nil, &me)
		require.NotNil(t, me.Me.FriendQrUrl)
		link := *me.Me.FriendQrUrl
		u, err := url.Parse(link)
		require.NoError(t, err)
		require.Equal(t, "/qr", u.Path)
		require.Equal(t, files.FriendLinkPrefix+me.Me.PublicID.String(), u.Query().Get("content"))
		res, body := s.Get(link, "", nil)
		require.Equal(t, http.StatusOK, res.StatusCode)
		_, err = png.Decode(bytes.NewReader(body))
		require.NoError(t, err)

		var other struct {
			Node struct{ FriendQrUrl *string }
		}
		s.OK(alice.Token, `query($id: ID!) { node(id: $id) { ... on User { friendQrUrl } } }`, map[string]any{"id": bob.ID}, &other)
		require.Nil(t, other.Node.FriendQrUrl, "only for the viewer himself")

		s.admin(root)
		s.settings(s.relogin("root"), map[string]any{"qrFriend": false})
		s.OK(alice.Token, `{ me { publicID friendQrUrl } }`, nil, &me)
		require.Nil(t, me.Me.FriendQrUrl, "null while friend QR codes are off")
	})
}

func TestFileStorageS3(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		backend, endpoint := fakeS3(t, "parley-files")
		cfg := apptest.Config(t, b.URL(t))
		cfg.StorageURL = "s3://parley-files?" + url.Values{
			"endpoint": {endpoint}, "region": {"us-east-1"}, "use_path_style": {"true"}, "anonymous": {"true"},
		}.Encode()
		s := start(t, cfg)
		alice := s.Register("alice", nil)
		img := filestest.JPEG(120, 80)

		f := s.upload(alice.Token, "image", "s3.jpg", img)
		again := s.upload(alice.Token, "avatar", "s3.jpg", img)
		require.NotEqual(t, f.ID, again.ID)
		keys := backend.keys("parley-files")
		require.Equal(t, []string{"sha256/" + f.Sha256[:2] + "/" + f.Sha256}, keys, "one object for one content")

		res, body := s.Get(f.URL, "", nil)
		require.Equal(t, http.StatusOK, res.StatusCode, string(body))
		require.Equal(t, img, body)
		res, body = s.Get(f.URL, "", http.Header{"Range": {"bytes=0-1"}})
		require.Equal(t, http.StatusPartialContent, res.StatusCode)
		require.Equal(t, img[:2], body, "ranges read from S3")
		require.Equal(t, 0, blobs(t, cfg.UploadDir), "nothing on local disk")
	})
}

// TestFileConfig: settings the server cannot run with stop it at start-up
// (server/main.go calls CheckFiles; app.New refuses them too).
func TestFileConfig(t *testing.T) {
	t.Parallel()
	require.NoError(t, app.CheckFiles(app.Defaults()))
	for want, change := range map[string]func(*app.Config){
		"PARLEY_STORAGE_URL":            func(c *app.Config) { c.StorageURL = "ftp://files.example" },
		"PARLEY_MAX_VOICE_BYTES":        func(c *app.Config) { c.MaxVoiceBytes = 0 },
		"PARLEY_MAX_IMAGE_PIXELS":       func(c *app.Config) { c.MaxImagePixels = -1 },
		"PARLEY_FILE_URL_TTL":           func(c *app.Config) { c.FileURLTTL = time.Second },
		"PARLEY_MAX_IMAGE_DECODE_BYTES": func(c *app.Config) { c.MaxImageDecodeBytes = 0 },
		"PARLEY_MAX_CONCURRENT_DECODES": func(c *app.Config) { c.MaxConcurrentDecodes = -1 },
	} {
		cfg := apptest.Config(t, "")
		change(&cfg)
		require.ErrorContains(t, app.CheckFiles(cfg), want)
		_, err := app.New(context.Background(), cfg, slog.New(slog.DiscardHandler))
		require.ErrorContains(t, err, want)
	}
}

// Uploads cannot exhaust memory: a small PNG whose pixels would take
// hundreds of megabytes is refused from its header, and the decodes that do
// run are bounded in size and number; large files stream to storage. These
// tests measure the process's heap while uploads run, so they do not call
// t.Parallel: Go runs them while the package's parallel tests wait, and
// they measure the growth from just before the uploads to its peak during
// them.

// pngBomb is a w×h 16-bit RGBA PNG of zero pixels. At 6324×6324 it is
// about 304 KB, just under the default 40 megapixels, and decodes to
// 6324×6324×8 bytes (320 MB).
func pngBomb(w, h int) []byte { return filestest.ZeroPNG(w, h, 16, 6, false, false) }

var (
	bombOnce sync.Once
	bomb     []byte
)

// hostilePNG is the security review's image, encoded once per test binary
// (about a second).
func hostilePNG() []byte {
	bombOnce.Do(func() { bomb = pngBomb(6324, 6324) })
	return bomb
}

// memoryPeak runs f while sampling the heap (live and not yet swept
// objects, which is what a decoder's buffers occupy as soon as they are
// allocated) and the resident set, and returns how far each rose above its
// level before f. The baseline follows a GC, so it holds only live data.
func memoryPeak(t *testing.T, f func()) (heap, rss int64) {
	t.Helper()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() (int64, int64) {
		metrics.Read(sample)
		return int64(sample[0].Value.Uint64()), residentBytes()
	}
	runtime.GC()
	heap0, rss0 := read()
	var peakHeap, peakRSS atomic.Int64
	peakHeap.Store(heap0)
	peakRSS.Store(rss0)
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			h, r := read()
			if h > peakHeap.Load() {
				peakHeap.Store(h)
			}
			if r > peakRSS.Load() {
				peakRSS.Store(r)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	f()
	close(done)
	<-sampled
	return peakHeap.Load() - heap0, peakRSS.Load() - rss0
}

// residentBytes is the process's resident set from /proc (Linux), or 0.
func residentBytes() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(b))
	if len(fields) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(fields[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

// TestUploadDecompressionBomb is the security review's attack: four 304 KB
// PNGs of 6324×6324 16-bit RGBA pixels, uploaded in parallel. Each passes
// the pixel limit (40 megapixels) but would decode to 320 MB; the server
// must refuse them from their headers, with a coded error, and stay within
// a small fraction of that, then go on serving.
func TestUploadDecompressionBomb(t *testing.T) {
	const parallel = 4
	const maxGrowth = 64 << 20 // one request's refusal costs well under 1 MB
	data := hostilePNG()
	require.Less(t, len(data), 400<<10, "the hostile PNG is small")

	for _, b := range dbtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := newServer(t, b)
			alice := s.Register("alice", nil)
			results, heap, rss := s.uploadAtOnce(t, parallel, alice.Token, "bomb.png", data)
			t.Logf("%d parallel uploads of a %d-byte 6324×6324 16-bit PNG: heap +%.1f MiB, RSS +%.1f MiB",
				parallel, len(data), float64(heap)/(1<<20), float64(rss)/(1<<20))
			require.Less(t, heap, int64(maxGrowth), "heap growth during the uploads")
			for _, r := range results {
				require.NotEmpty(t, r.Errors, "the image is refused")
				require.Equal(t, "BAD_USER_INPUT", r.Code())
				require.Equal(t, "IMAGE_TOO_LARGE", r.Reason())
				require.Equal(t, "file", r.Ext("field"))
				msg := r.Errors[0].Message
				require.Contains(t, msg, "6324×6324")
				require.Contains(t, msg, "at most 67 MB", "the message names the limit")
				require.NotContains(t, msg, "png:", "no decoder detail")
			}

			f := s.upload(alice.Token, "image", "fine.png", filestest.PNG(64, 64))
			require.Equal(t, "image/png", f.ContentType, "the server keeps serving")
		})
	}
}

// uploadAtOnce sends n image uploads of data named name as token, all at
// once, and returns their responses and the peak growth of the heap and of
// the resident memory meanwhile.
func (s *server) uploadAtOnce(t *testing.T, n int, token, name string, data []byte) (results []response, heap, rss int64) {
	t.Helper()
	reqs := make([]*http.Request, n)
	for i := range reqs {
		reqs[i] = s.multipartUpload(token, "image", name, data, nil)
	}
	results = make([]response, n)
	heap, rss = memoryPeak(t, func() {
		var wg sync.WaitGroup
		for i, req := range reqs {
			wg.Go(func() { results[i] = decodeResponse(t, req) })
		}
		wg.Wait()
	})
	return results, heap, rss
}

// decodeResponse sends req and decodes the GraphQL response; it may run
// outside the test's goroutine, so it reports failures with Errorf.
func decodeResponse(t *testing.T, req *http.Request) response {
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("upload: %v", err)
		return response{}
	}
	defer res.Body.Close()
	var r response
	if err := json.NewDecoder(res.Body).Decode(&r); err != nil {
		t.Errorf("upload: decode the response: %v", err)
	}
	r.Status = res.StatusCode
	return r
}

// TestUploadDecodeSlots: images within the decode limit still cost memory
// while they decode, and uploads in parallel take turns: with one decode
// slot, six parallel uploads of images that each decode to 32 MB never hold
// more than about one of them, where without slots they would hold six
// (192 MB).
func TestUploadDecodeSlots(t *testing.T) {
	const parallel = 6
	const perImage = 2000 * 2000 * 8 // 16-bit RGBA
	data := pngBomb(2000, 2000)
	for _, b := range dbtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := newServer(t, b, func(c *app.Config) { c.MaxImageDecodeBytes = 40 << 20; c.MaxConcurrentDecodes = 1 })
			alice := s.Register("alice", nil)
			defer debug.SetGCPercent(debug.SetGCPercent(25)) // collect finished decodes promptly
			results, heap, rss := s.uploadAtOnce(t, parallel, alice.Token, "big.png", data)
			t.Logf("%d parallel uploads of 2000×2000 16-bit PNGs, one decode slot: heap +%.1f MiB, RSS +%.1f MiB",
				parallel, float64(heap)/(1<<20), float64(rss)/(1<<20))
			for _, r := range results {
				require.Empty(t, r.Errors, "within the limit, the image is accepted")
			}
			require.Less(t, heap, int64(3*perImage), "the decodes took turns: one live, one not yet swept")
		})
	}
}

// TestUploadLargeFilesStream: files of 40 MiB, uploaded four at a time,
// with a Content-Length or chunked, go through a temporary file to storage
// and never sit in memory whole.
func TestUploadLargeFilesStream(t *testing.T) {
	const size = 40 << 20
	const maxGrowth = 24 << 20
	for _, b := range dbtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := newServer(t, b)
			alice := s.Register("alice", nil)
			type upload struct {
				req  *http.Request
				hash hash.Hash
			}
			uploads := make([]upload, 4)
			for i := range uploads {
				h := sha256.New()
				uploads[i] = upload{s.streamUpload(alice.Token, "file", "data.bin", int64(i), size, i%2 == 1, h), h}
			}
			results := make([]response, len(uploads))
			heap, rss := memoryPeak(t, func() {
				var wg sync.WaitGroup
				for i, u := range uploads {
					wg.Go(func() { results[i] = decodeResponse(t, u.req) })
				}
				wg.Wait()
			})
			t.Logf("4 parallel uploads of 40 MiB files (2 chunked): heap +%.1f MiB, RSS +%.1f MiB",
				float64(heap)/(1<<20), float64(rss)/(1<<20))
			for i, r := range results {
				require.Empty(t, r.Errors)
				var out struct{ UploadFile uploaded }
				require.NoError(t, json.Unmarshal(r.Data, &out))
				require.Equal(t, int64(size), out.UploadFile.Size)
				require.Equal(t, hex.EncodeToString(uploads[i].hash.Sum(nil)), out.UploadFile.Sha256, "stored whole")
			}
			require.Less(t, heap, int64(maxGrowth), "heap growth during the uploads")
		})
	}
}

// streamUpload is a multipart upload of size pseudo-random bytes (from
// seed) generated while the request is sent, so that the test holds none of
// them; they also go to sum. A chunked request declares no length.
func (s *server) streamUpload(token, kind, name string, seed, size int64, chunked bool, sum io.Writer) *http.Request {
	s.T.Helper()
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], uint64(seed))
	data := io.TeeReader(io.LimitReader(rand.NewChaCha8(key), size), sum)
	if chunked {
		size = -1
	}
	return s.uploadRequest(token, kind, name, data, size, nil)
}
