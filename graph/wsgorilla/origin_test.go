package wsgorilla_test

import (
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/parley-im/parley/graph/wsgorilla"
)

func TestOriginAllowed(t *testing.T) {
	tests := []struct {
		name    string
		allowed []string
		origin  string
		want    bool
	}{
		{"no origin header", nil, "", true},
		{"same host", nil, "https://api.parley.im", true},
		{"same host, other case", nil, "https://API.Parley.IM", true},
		{"foreign origin, empty list", nil, "https://evil.example", false},
		{"exact entry", []string{"https://app.parley.im"}, "https://app.parley.im", true},
		{"exact entry, other case", []string{"https://App.Parley.im"}, "HTTPS://app.parley.im", true},
		{"exact entry, other scheme", []string{"https://app.parley.im"}, "http://app.parley.im", false},
		{"exact entry, other port", []string{"https://app.parley.im"}, "https://app.parley.im:8443", false},
		{"entry with port", []string{"http://localhost:5173"}, "http://localhost:5173", true},
		{"entry without scheme", []string{"app.parley.im"}, "http://app.parley.im", true},
		{"entry is a prefix of the host", []string{"https://app.parley.im"}, "https://app.parley.im.evil.example", false},
		{"wildcard subdomain", []string{"https://*.parley.im"}, "https://pr-1.preview.parley.im", true},
		{"wildcard excludes apex", []string{"https://*.parley.im"}, "https://parley.im", false},
		{"wildcard needs a dot boundary", []string{"https://*.parley.im"}, "https://evilparley.im", false},
		{"wildcard, other scheme", []string{"https://*.parley.im"}, "http://app.parley.im", false},
		{"wildcard, other port", []string{"https://*.parley.im"}, "https://app.parley.im:8443", false},
		{"wildcard without scheme", []string{"*.parley.im"}, "http://app.parley.im", true},
		{"any port", []string{"http://localhost:*"}, "http://localhost:5173", true},
		{"any port, none", []string{"http://localhost:*"}, "http://localhost", true},
		{"any port, other host", []string{"http://localhost:*"}, "http://localhost.evil.example:5173", false},
		{"any port, other scheme", []string{"http://localhost:*"}, "https://localhost:5173", false},
		{"any port, IPv6", []string{"http://[::1]:*"}, "http://[::1]:5173", true},
		{"star allows anything", []string{"*"}, "https://evil.example", true},
		{"opaque origin", []string{"https://app.parley.im"}, "null", false},
		{"malformed origin", []string{"https://app.parley.im"}, "://app.parley.im", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "https://api.parley.im/query", nil)
			if tt.origin != "" {
				r.Header.Set("Origin", tt.origin)
			}
			assert.Equal(t, tt.want, wsgorilla.OriginAllowed(tt.allowed, r))
			assert.Equal(t, tt.want, wsgorilla.Implementation{AllowedOrigins: tt.allowed}.CheckOrigin(r))
		})
	}
}
