package app

// Fuzz targets for the parsers of server/app: the
// GraphQL-over-HTTP request reader, the Accept negotiation, the bearer
// header and the graphql-transport-ws message check.

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzReadParams: any POST body or GET query string is read without panic,
// as a request (status 0) or refused with 400 or 413.
func FuzzReadParams(f *testing.F) {
	f.Fuzz(func(t *testing.T, body string, rawQuery string) {
		rec := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, "/query", strings.NewReader(body))
		r.Body = http.MaxBytesReader(rec, r.Body, 1<<16)
		p, status, err := readParams(r)
		check := func(method string) {
			switch {
			case err == nil && (p == nil || status != 0):
				t.Fatalf("%s: params %v, status %d", method, p, status)
			case err != nil && status != http.StatusBadRequest && status != http.StatusRequestEntityTooLarge:
				t.Fatalf("%s: status %d for %v", method, status, err)
			case err == nil && p.Query == "" && p.Extensions["persistedQuery"] == nil && method == "POST" && !bytes.Contains([]byte(body), []byte(`"query"`)):
				t.Fatalf("%s: accepted %q without a query", method, body)
			}
		}
		check("POST")
		g := httptest.NewRequest(http.MethodGet, "/query", nil)
		g.URL.RawQuery = rawQuery
		p, status, err = readGetParams(g)
		check("GET")
	})
}

// FuzzResponseMediaType: any Accept header picks one of the two response
// media types.
func FuzzResponseMediaType(f *testing.F) {
	f.Fuzz(func(t *testing.T, accept string) {
		if m := responseMediaType(accept); m != mediaJSON && m != mediaGraphQLResponse {
			t.Fatalf("responseMediaType(%q) = %q", accept, m)
		}
	})
}

// FuzzBearer: the token of any Authorization header is trimmed and found
// only after the scheme.
func FuzzBearer(f *testing.F) {
	f.Fuzz(func(t *testing.T, h string) {
		tok, ok := bearer(h)
		if !ok {
			if tok != "" {
				t.Fatalf("bearer(%q) = %q without ok", h, tok)
			}
			return
		}
		if !strings.EqualFold(h[:7], "bearer ") || tok != strings.TrimSpace(tok) || !strings.Contains(h, tok) {
			t.Fatalf("bearer(%q) = %q", h, tok)
		}
	})
}

// FuzzWebsocketMessage plays any two client messages through the
// graphql-transport-ws check of wsspec.go, before and after the
// acknowledgement: it never panics, closes only with a protocol code and a
// reason that fits a close frame, and forwards to gqlgen only messages of
// the protocol's shape.
func FuzzWebsocketMessage(f *testing.F) {
	f.Fuzz(func(t *testing.T, first, second []byte, acked bool) {
		c := newSpecConn(nopConn{}, true, nil)
		c.acked = acked
		for _, msg := range [][]byte{first, second} {
			forward, code, reason := c.check(msg)
			if code != 0 {
				switch code {
				case closeBadRequest, closeUnauthorized, closeSubscriberExists, closeTooManyInitRequests:
				default:
					t.Fatalf("check(%q): close %d", msg, code)
				}
				if forward || len(reason) > 123 || reason == "" {
					t.Fatalf("check(%q): close %d %q, forward %v", msg, code, reason, forward)
				}
				return
			}
			if !forward {
				continue
			}
			var m struct {
				Type string          `json:"type"`
				ID   string          `json:"id"`
				P    json.RawMessage `json:"payload"`
			}
			if err := json.Unmarshal(msg, &m); err != nil {
				t.Fatalf("forwarded %q: %v", msg, err)
			}
			switch m.Type {
			case "connection_init", "ping", "pong":
			case "subscribe", "complete":
				if m.ID == "" {
					t.Fatalf("forwarded %q without an id", msg)
				}
				if m.Type == "subscribe" && !c.acked {
					t.Fatalf("forwarded a subscribe before the ack: %q", msg)
				}
			default:
				t.Fatalf("forwarded %q", msg)
			}
		}
	})
}

// nopConn is a WebsocketConn that writes nowhere.
type nopConn struct{}

func (nopConn) Close() error                        { return nil }
func (nopConn) NextReader() (int, io.Reader, error) { return 0, nil, io.EOF }
func (nopConn) WriteJSON(any) error                 { return nil }
func (nopConn) WriteClose(int, string) error        { return nil }
func (nopConn) Subprotocol() string                 { return subprotocolTransportWS }
