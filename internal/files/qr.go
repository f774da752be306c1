package files

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/platform/apperr"
	"github.com/parley-im/parley/internal/settings"
)

// Limits of GET /qr.
const (
	QRContentMax  = 1024 // bytes
	QRSizeMin     = 64   // pixels
	QRSizeMax     = 1024 // pixels
	QRSizeDefault = 256  // pixels
)

// FriendLinkPrefix starts the add-friend link a friend QR code carries,
// followed by the user's public id; clients that scan it open the add-friend
// screen.
const FriendLinkPrefix = "parley://friend/"

// QRURL is the path of the QR code PNG of content at the default size.
func QRURL(content string) string {
	return "/qr?" + url.Values{"content": {content}, "size": {strconv.Itoa(QRSizeDefault)}}.Encode()
}

// FriendQRURL returns the QR code URL of u's add-friend link, for u himself
// only: nil for anyone else, and nil when an admin turned friend QR codes
// off (settings.QRFriend).
func (s *Service) FriendQRURL(ctx context.Context, u *ent.User) (*string, error) {
	if uid := viewer.UserID(ctx); uid == 0 || uid != u.ID {
		return nil, nil
	}
	on, err := s.settings.Enabled(ctx, settings.QRFriend)
	if err != nil || !on {
		return nil, err
	}
	link := QRURL(FriendLinkPrefix + strconv.FormatInt(u.PublicID, 10))
	return &link, nil
}

// ServeQR answers GET /qr?content=...&size=... with a PNG QR code of content
// (1 to QRContentMax bytes), size × size pixels (QRSizeMin to QRSizeMax,
// default QRSizeDefault). Content too long for that size gets the smallest
// image that holds it. The same query always gives the same image, so the
// answer is cached for good.
func ServeQR(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	content := q.Get("content")
	size := QRSizeDefault
	switch {
	case content == "":
		WriteError(w, http.StatusBadRequest, apperr.Input(apperr.ReasonRequired, "content", "content is required"))
		return
	case len(content) > QRContentMax:
		WriteError(w, http.StatusBadRequest, apperr.Input(apperr.ReasonTooLong, "content", "content is longer than %d bytes", QRContentMax))
		return
	case q.Has("size"):
		n, err := strconv.Atoi(q.Get("size"))
		if err != nil || n < QRSizeMin || n > QRSizeMax {
			WriteError(w, http.StatusBadRequest, apperr.Input(apperr.ReasonInvalid, "size", "size must be %d to %d pixels", QRSizeMin, QRSizeMax))
			return
		}
		size = n
	}
	sum := sha256.Sum256([]byte(strconv.Itoa(size) + "\n" + content))
	etag := `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`
	h := w.Header()
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("ETag", etag)
	h.Set("X-Content-Type-Options", "nosniff")
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	png, err := qrcode.Encode(content, qrcode.Medium, size)
	if err != nil { // only for content beyond a QR code's capacity, which the limit prevents
		WriteError(w, http.StatusBadRequest, apperr.Input(apperr.ReasonTooLong, "content", "content does not fit in a QR code"))
		return
	}
	h.Set("Content-Type", "image/png")
	h.Set("Content-Length", strconv.Itoa(len(png)))
	w.Write(png)
}
