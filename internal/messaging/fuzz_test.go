package messaging

// Fuzz targets for message content, fed hostile input. FuzzParts runs
// the real validation of Send (parts: text, emoji codes, links, file parts,
// the settings it consults) against a settings table
// on a fresh SQLite database; FuzzPreview the one-line preview lists
// and quotes show.

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/message"
	_ "github.com/parley-im/parley/ent/runtime"
	"github.com/parley-im/parley/ent/schematype"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/platform/apperr"
	"github.com/parley-im/parley/internal/platform/dbtest"
	"github.com/parley-im/parley/internal/settings"
)

// fuzzService is a Service whose settings live in a fresh SQLite database
// with a dirty-word list (which the store masks, not checkParts).
func fuzzService(f *testing.F) *Service {
	client := dbtest.Open(f, dbtest.Backends()[0]).Client
	sys := viewer.SystemContext(context.Background())
	if err := client.Setting.Create().SetKey("dirty_words").SetValue("bad\n傻瓜\nWORD").SetPublic(false).Exec(sys); err != nil {
		f.Fatal(err)
	}
	return &Service{settings: settings.NewService(client)}
}

func FuzzParts(f *testing.F) {
	s := fuzzService(f)
	ctx := viewer.SystemContext(context.Background())
	f.Fuzz(func(t *testing.T, text, category, content, link string, fileID int) {
		var r Request
		if text != "" {
			r.Text = text
		} else {
			r.Parts = []Part{{Category: category, Content: content, URL: link, FileID: fileID}, {Category: "text", Content: content}}
		}
		parts, kind, err := s.checkParts(ctx, r)
		if err != nil {
			e, ok := apperr.As(err)
			if !ok || (e.Code != apperr.BadUserInput && e.Code != apperr.Forbidden) || e.Reason == "" {
				t.Fatalf("parts(%+v): %v is not a client error", r, err)
			}
			if !strings.HasPrefix(e.Field, "input.") {
				t.Fatalf("parts(%+v): field %q", r, e.Field)
			}
			return
		}
		if len(parts) == 0 || len(parts) > PartsMax {
			t.Fatalf("parts(%+v): %d parts", r, len(parts))
		}
		if (len(parts) > 1) != (kind == message.KindMixed) {
			t.Fatalf("parts(%+v): kind %s for %d parts", r, kind, len(parts))
		}
		for _, p := range parts {
			checkPart(t, r, p)
		}
	})
}

func checkPart(t *testing.T, r Request, p schematype.MessagePart) {
	switch p.Category {
	case "text", "emoji":
		if strings.TrimSpace(p.Content) == "" || utf8.RuneCountInString(p.Content) > TextMax {
			t.Fatalf("parts(%+v): text of %d characters", r, utf8.RuneCountInString(p.Content))
		}
		if p.Category == "emoji" && !emojiOnly.MatchString(strings.TrimSpace(p.Content)) {
			t.Fatalf("parts(%+v): emoji part %q", r, p.Content)
		}
		if validAll(r) && !utf8.ValidString(p.Content) {
			t.Fatalf("parts(%+v): invalid UTF-8 out of valid input", r)
		}
	case "link":
		u, err := url.Parse(p.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			t.Fatalf("parts(%+v): stored link %q", r, p.URL)
		}
		if utf8.RuneCountInString(p.Content) > TextMax {
			t.Fatalf("parts(%+v): link label too long", r)
		}
	case "image", "voice", "file":
		if p.FileID == 0 {
			t.Fatalf("parts(%+v): file part without a file", r)
		}
	default:
		t.Fatalf("parts(%+v): category %q", r, p.Category)
	}
}

// validAll reports whether every string of r is valid UTF-8, as GraphQL
// strings always are.
func validAll(r Request) bool {
	ok := utf8.ValidString(r.Text)
	for _, p := range r.Parts {
		ok = ok && utf8.ValidString(p.Content) && utf8.ValidString(p.URL) && utf8.ValidString(p.Category)
	}
	return ok
}

// FuzzPreview: a preview is one line of at most previewMax characters,
// valid UTF-8 when the parts are, and empty or bracketed once revoked or
// deleted.
func FuzzPreview(f *testing.F) {
	f.Fuzz(func(t *testing.T, category, content, link string, revoked bool) {
		m := &ent.Message{Parts: []schematype.MessagePart{{Category: category, Content: content, URL: link}, {Category: "text", Content: content}}}
		if revoked {
			now := m.CreatedAt
			m.RevokedAt = &now
		}
		p := Preview(m)
		if n := utf8.RuneCountInString(p); n > previewMax {
			t.Fatalf("preview of %d characters", n)
		}
		if strings.ContainsAny(p, "\n\r\t") {
			t.Fatalf("preview %q spans lines", p)
		}
		if utf8.ValidString(category) && utf8.ValidString(content) && utf8.ValidString(link) && !utf8.ValidString(p) {
			t.Fatalf("preview %q is invalid UTF-8", p)
		}
		if p != strings.TrimSpace(p) {
			t.Fatalf("preview %q is not trimmed", p)
		}
		if revoked && p != "[revoked]" {
			t.Fatalf("revoked preview %q", p)
		}
		if txt := Text(m); revoked && txt != "" {
			t.Fatalf("revoked text %q", txt)
		}
	})
}
