package app

// Structured logs: the logger main.go builds from -log-format
// and -log-level, and the access log, one line per HTTP request with chi's
// request id, which is also on every error the presenter logs.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/parley-im/parley/graph/wsgorilla"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/parley-im/parley/ent/viewer"
)

// NewLogger returns a logger writing to w in format json or text (empty
// means json in production and text in development) from level debug,
// info, warn or error (empty means info).
func NewLogger(w io.Writer, format, level string, production bool) (*slog.Logger, error) {
	var lvl slog.Level
	switch strings.ToLower(level) {
	case "", "info":
		lvl = slog.LevelInfo
	case "debug":
		lvl = slog.LevelDebug
	case "warn", "warning":
		lvl = slog.LevelWarn
	case "error":
		lvl = slog.LevelError
	default:
		return nil, fmt.Errorf("PARLEY_LOG_LEVEL: %q is not debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch strings.ToLower(format) {
	case "":
		if production {
			return slog.New(slog.NewJSONHandler(w, opts)), nil
		}
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("PARLEY_LOG_FORMAT: %q is not json or text", format)
}

// requestInfo is what the GraphQL layer tells the access log about a
// request: its operation and outcome, and the viewer.
type requestInfo struct {
	mu        sync.Mutex
	operation string
	opType    string
	code      string
	userID    int
}

type requestInfoKey struct{}

func infoFrom(ctx context.Context) *requestInfo {
	info, _ := ctx.Value(requestInfoKey{}).(*requestInfo)
	return info
}

// noteOperation records the first operation of a request (a WebSocket
// connection carries several: the log line names the first).
func noteOperation(ctx context.Context, name, typ string) {
	info := infoFrom(ctx)
	if info == nil {
		return
	}
	info.mu.Lock()
	defer info.mu.Unlock()
	if info.operation == "" {
		info.operation, info.opType = name, typ
	}
	if info.userID == 0 {
		info.userID = viewer.UserID(ctx)
	}
}

func noteOutcome(ctx context.Context, code string) {
	if info := infoFrom(ctx); info != nil {
		info.mu.Lock()
		if info.code == "" {
			info.code = code
		}
		info.mu.Unlock()
	}
}

// quietRoutes are logged at debug level: probes and scrapes come every few
// seconds.
var quietRoutes = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true}

// accessLog logs one line per request when it ends (a WebSocket connection
// when it closes) and records the HTTP metrics. It runs after chi's
// RequestID and before Recoverer, so a recovered panic's 500 is logged too.
// The path is logged without its query string, which may carry a private
// file's signed token.
func (a *App) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		info := &requestInfo{}
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		ws := isWebsocket(r)
		a.metrics.httpInFlight.Inc()
		var outliving *wsgorilla.Outliving
		ctx := context.WithValue(r.Context(), requestInfoKey{}, info)
		if ws {
			ctx, outliving = wsgorilla.WithOutliving(ctx)
		}
		defer func() {
			status := ww.Status()
			if status == 0 {
				status = http.StatusOK
				if ws {
					status = http.StatusSwitchingProtocols // hijacked by the upgrader
				}
			}
			if p := recover(); p != nil {
				status = http.StatusInternalServerError
				defer panic(p)
			}
			bytes := ww.BytesWritten()
			route := "unmatched"
			if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
				route = rc.RoutePattern()
			}
			ctx, method, path, remote := r.Context(), r.Method, r.URL.Path, clientIP(r)
			// A WebSocket connection outlives its handler: it is counted and
			// logged when it ends, with what its operations recorded.
			done := func() {
				a.metrics.httpInFlight.Dec()
				d := time.Since(start)
				a.metrics.observeHTTP(route, method, status, d, ws)

				level := slog.LevelInfo
				switch {
				case status >= 500:
					level = slog.LevelError
				case quietRoutes[route]:
					level = slog.LevelDebug
				}
				if !a.log.Enabled(ctx, level) {
					return
				}
				attrs := []slog.Attr{
					slog.String("request_id", middleware.GetReqID(ctx)),
					slog.String("method", method),
					slog.String("path", path),
					slog.String("route", route),
					slog.Int("status", status),
					slog.Int("bytes", bytes),
					slog.Float64("duration_ms", float64(d.Microseconds())/1000),
					slog.String("remote", remote),
				}
				info.mu.Lock()
				if info.operation != "" {
					attrs = append(attrs, slog.String("operation", info.operation), slog.String("operation_type", info.opType))
				}
				if info.code != "" {
					attrs = append(attrs, slog.String("code", info.code))
				}
				if info.userID != 0 {
					attrs = append(attrs, slog.Int("user_id", info.userID))
				}
				info.mu.Unlock()
				a.log.LogAttrs(ctx, level, "http request", attrs...)
			}
			if outliving == nil || !outliving.Then(done) {
				done()
			}
		}()
		next.ServeHTTP(ww, r.WithContext(ctx))
	})
}
