// Package playground serves GraphiQL, the in-browser IDE of the API, from
// files embedded in the binary, so that it works with no internet and in
// any deployment: the page loads nothing but this server's own files, and
// its Content-Security-Policy forbids anything else.
//
// static/ holds Parley's own files (the page and the script that starts
// GraphiQL on /query with the README's examples as tabs); vendor/ holds the
// prebuilt bundles of React, GraphiQL and graphql-ws from npm, which
// refresh.sh rebuilds at the versions of package-lock.json.
package playground

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"
)

// Prefix is the path of the page's files; the page at "/" names them
// relative to itself (playground/graphiql.min.js), so a proxy that serves
// the API under a path serves the playground there too.
const Prefix = "/playground/"

// ContentSecurityPolicy lets the page load scripts, styles and connections
// from this server only: GraphiQL's fonts and icons are data: URLs inside
// its style sheet, and 'self' covers the page's own WebSocket.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

//go:embed static vendor
var embedded embed.FS

// file is one served file, its gzip form made on first request.
type file struct {
	body        []byte
	contentType string
	etag        string
	gzipOnce    sync.Once
	gzipped     []byte
}

// files are the page's files by name, and page is the page itself.
var files, page = load()

func load() (map[string]*file, *file) {
	out := map[string]*file{}
	for _, dir := range []string{"static", "vendor"} {
		entries, err := fs.ReadDir(embedded, dir)
		if err != nil {
			panic(err)
		}
		for _, e := range entries {
			body, err := fs.ReadFile(embedded, dir+"/"+e.Name())
			if err != nil {
				panic(err)
			}
			sum := sha256.Sum256(body)
			ct := mime.TypeByExtension(path.Ext(e.Name()))
			if ct == "" {
				ct = "text/plain; charset=utf-8"
			}
			out[e.Name()] = &file{body: body, contentType: ct, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
		}
	}
	index := out["index.html"]
	delete(out, "index.html")
	index.contentType = "text/html; charset=utf-8"
	return out, index
}

// gzip returns the file compressed, made once.
func (f *file) gzip() []byte {
	f.gzipOnce.Do(func() {
		var b bytes.Buffer
		w, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
		w.Write(f.body)
		w.Close()
		f.gzipped = b.Bytes()
	})
	return f.gzipped
}

// serve writes f, gzipped when the client takes it, or 304 when the client
// holds this version. Browsers revalidate every time (no-cache), so a new
// binary's files are picked up at once, at the cost of a 304 per file.
func (f *file) serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-cache")
	h.Set("Vary", "Accept-Encoding")
	h.Set("Content-Type", f.contentType)
	body, etag := f.body, f.etag
	if acceptsGzip(r) {
		body, etag = f.gzip(), strings.TrimSuffix(f.etag, `"`)+`-gz"`
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("ETag", etag)
	if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, etag) {
		h.Del("Content-Encoding")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if r.Method == http.MethodHead {
		return
	}
	w.Write(body)
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") && strings.ReplaceAll(q, " ", "") != "q=0" {
			return true
		}
	}
	return false
}

// Page serves the playground's page, wherever it is mounted ("/").
func Page() http.Handler { return http.HandlerFunc(page.serve) }

// Files serves the page's files under Prefix; any other name is a 404.
func Files() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := files[strings.TrimPrefix(r.URL.Path, Prefix)]
		if !ok || !strings.HasPrefix(r.URL.Path, Prefix) {
			http.NotFound(w, r)
			return
		}
		f.serve(w, r)
	})
}
