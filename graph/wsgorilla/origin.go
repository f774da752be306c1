package wsgorilla

import (
	"net/http"
	"net/url"
	"strings"
)

// OriginAllowed reports whether a browser on r's Origin may talk to this
// server. It guards websocket upgrades against cross-site websocket hijacking
// (browsers send cookies with the upgrade but don't apply CORS to it), and
// the HTTP CORS layer can reuse it so both transports trust the same origins.
//
// A request is allowed when:
//   - it has no Origin header: it comes from a non-browser client, which
//     could forge any Origin anyway;
//   - its Origin's host[:port] equals the request's Host (same origin);
//   - its Origin matches an entry of allowed.
//
// An entry is "[scheme://]host[:port]", compared case-insensitively; without
// a scheme it matches any scheme, and a port must be written exactly as the
// browser sends it (browsers omit default ports). A host of the form
// "*.example.com" matches any subdomain of example.com but not example.com
// itself. A port of "*" ("http://localhost:*") matches any port, or none:
// a development server's, whichever it picked. The entry "*" allows every
// origin; it is never implied.
func OriginAllowed(allowed []string, r *http.Request) bool {
	values := r.Header.Values("Origin")
	if len(values) == 0 {
		return true
	}
	origin, err := url.Parse(values[0])
	if err != nil || origin.Scheme == "" || origin.Host == "" {
		return false
	}
	if strings.EqualFold(origin.Host, r.Host) {
		return true
	}
	for _, entry := range allowed {
		if originMatches(entry, origin) {
			return true
		}
	}
	return false
}

// originMatches reports whether origin matches one AllowedOrigins entry.
func originMatches(entry string, origin *url.URL) bool {
	if entry == "*" {
		return true
	}
	host := entry
	if scheme, rest, ok := strings.Cut(entry, "://"); ok {
		if !strings.EqualFold(scheme, origin.Scheme) {
			return false
		}
		host = rest
	}
	if hostname, ok := strings.CutSuffix(host, ":*"); ok {
		return strings.EqualFold(strings.Trim(hostname, "[]"), origin.Hostname())
	}
	if domain, ok := strings.CutPrefix(host, "*"); ok {
		// domain is ".example.com[:port]"; at least one label must precede it.
		return strings.HasPrefix(domain, ".") &&
			len(origin.Host) > len(domain) &&
			strings.EqualFold(origin.Host[len(origin.Host)-len(domain):], domain)
	}
	return strings.EqualFold(host, origin.Host)
}
