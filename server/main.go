// Command server runs Parley: go run ./server. With no configuration it
// serves on :8080 with embedded SQLite under ./data; DATABASE_URL switches to
// PostgreSQL. Every setting is an environment variable and a flag (README).
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/parley-im/parley/server/app"
)

func main() {
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stderr, nil)))
	if err := run(); err != nil {
		slog.Error("server stopped", "err", err)
		os.Exit(1)
	}
}

func run() error {
	cfg, err := configure(os.Args[1:])
	if err != nil {
		return err
	}
	log, err := app.NewLogger(os.Stderr, cfg.LogFormat, cfg.LogLevel, cfg.Production) // -log-format, -log-level
	if err != nil {
		return err
	}
	slog.SetDefault(log)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	a, err := app.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	ops, err := app.ServeOps(a, cfg, log) // -metrics-addr, -pprof-addr
	if err != nil {
		a.Close()
		return err
	}
	defer ops.Close(context.Background())
	srv := &http.Server{
		Addr:              cfg.Addr,
		Handler:           a.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return a.BaseContext() },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("parley listening", "addr", cfg.Addr, "postgres", cfg.DatabaseURL != "")

	select {
	case err := <-errc:
		a.Close()
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	a.Close() // ends subscriptions (stream.closed SHUTDOWN) and WebSocket connections (1001)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// configure reads the environment, then flags (flags win).
func configure(args []string) (app.Config, error) {
	cfg := app.Defaults()
	fs := flag.NewFlagSet("parley", flag.ContinueOnError)
	fs.StringVar(&cfg.Addr, "addr", env("PARLEY_ADDR", cfg.Addr), "listen address")
	fs.StringVar(&cfg.DatabaseURL, "database-url", env("DATABASE_URL", ""), "PostgreSQL URL; empty for embedded SQLite")
	fs.StringVar(&cfg.DataDir, "data-dir", env("PARLEY_DATA_DIR", cfg.DataDir), "directory for SQLite and the dev JWT secret")
	fs.StringVar(&cfg.UploadDir, "upload-dir", env("PARLEY_UPLOAD_DIR", cfg.UploadDir), "directory for uploaded files")
	secret := fs.String("jwt-secret", env("PARLEY_JWT_SECRET", ""), "JWT HS256 secret (32+ bytes); required in production")
	origins := fs.String("allowed-origins", env("PARLEY_ALLOWED_ORIGINS", ""), "comma-separated browser origins allowed for CORS and WebSocket")
	fs.BoolVar(&cfg.Production, "production", envBool("PARLEY_PRODUCTION", false), "production mode: secret required, introspection off by default")
	introspection := fs.String("introspection", env("PARLEY_INTROSPECTION", ""), "true/false; default on in development, off in production")
	fs.Int64Var(&cfg.MaxBodyBytes, "max-body-bytes", envInt("PARLEY_MAX_BODY_BYTES", cfg.MaxBodyBytes), "largest request body")
	fs.DurationVar(&cfg.RequestTimeout, "request-timeout", envDuration("PARLEY_REQUEST_TIMEOUT", cfg.RequestTimeout), "deadline of one HTTP request")
	maxDepth := fs.Int64("max-depth", envInt("PARLEY_MAX_DEPTH", int64(cfg.MaxDepth)), "deepest query")
	maxCost := fs.Int64("max-cost", envInt("PARLEY_MAX_COST", int64(cfg.MaxCost)), "costliest query (first/last multiply)")
	fs.DurationVar(&cfg.PresenceTTL, "presence-ttl", envDuration("PARLEY_PRESENCE_TTL", cfg.PresenceTTL), "a user with no heartbeat for this long is offline (crashed instance)")
	fs.DurationVar(&cfg.RevokeWindow, "revoke-window", envDuration("PARLEY_REVOKE_WINDOW", cfg.RevokeWindow), "how long a sender may revoke a message")
	fs.StringVar(&cfg.SMSWebhook, "sms-webhook", env("PARLEY_SMS_WEBHOOK", ""), "URL that receives SMS verification codes as JSON; empty logs them (development)")
	maxSubs := fs.Int64("max-subscriptions", envInt("PARLEY_MAX_SUBSCRIPTIONS", int64(cfg.MaxSubscriptions)), "subscriptions per WebSocket connection")
	fs.StringVar(&cfg.StorageURL, "storage-url", env("PARLEY_STORAGE_URL", ""), "bucket URL for uploads (s3://, gs://, mem://, file://); empty for -upload-dir")
	fs.Int64Var(&cfg.MaxAvatarBytes, "max-avatar-bytes", envInt("PARLEY_MAX_AVATAR_BYTES", cfg.MaxAvatarBytes), "largest avatar upload")
	fs.Int64Var(&cfg.MaxImageBytes, "max-image-bytes", envInt("PARLEY_MAX_IMAGE_BYTES", cfg.MaxImageBytes), "largest image upload")
	fs.Int64Var(&cfg.MaxVoiceBytes, "max-voice-bytes", envInt("PARLEY_MAX_VOICE_BYTES", cfg.MaxVoiceBytes), "largest voice upload")
	fs.Int64Var(&cfg.MaxFileBytes, "max-file-bytes", envInt("PARLEY_MAX_FILE_BYTES", cfg.MaxFileBytes), "largest file upload")
	fs.Int64Var(&cfg.MaxImagePixels, "max-image-pixels", envInt("PARLEY_MAX_IMAGE_PIXELS", cfg.MaxImagePixels), "largest width × height of an uploaded image")
	fs.Int64Var(&cfg.MaxImageDecodeBytes, "max-image-decode-bytes", envInt("PARLEY_MAX_IMAGE_DECODE_BYTES", cfg.MaxImageDecodeBytes), "most memory decoding one uploaded image may take, as its header announces it")
	maxDecodes := fs.Int64("max-concurrent-decodes", envInt("PARLEY_MAX_CONCURRENT_DECODES", int64(cfg.MaxConcurrentDecodes)), "uploaded images decoded at once; others wait")
	fs.DurationVar(&cfg.FileURLTTL, "file-url-ttl", envDuration("PARLEY_FILE_URL_TTL", cfg.FileURLTTL), "least lifetime of a private file's signed URL")
	fs.DurationVar(&cfg.UploadTimeout, "upload-timeout", envDuration("PARLEY_UPLOAD_TIMEOUT", cfg.UploadTimeout), "deadline of one upload request")
	fs.StringVar(&cfg.MetricsAddr, "metrics-addr", env("PARLEY_METRICS_ADDR", ""), "listen address of Prometheus /metrics; empty: off")
	fs.StringVar(&cfg.PprofAddr, "pprof-addr", env("PARLEY_PPROF_ADDR", ""), "listen address of /debug/pprof/ (a bare port binds 127.0.0.1); empty: off")
	fs.StringVar(&cfg.LogFormat, "log-format", env("PARLEY_LOG_FORMAT", ""), "json or text; default json in production, text in development")
	fs.StringVar(&cfg.LogLevel, "log-level", env("PARLEY_LOG_LEVEL", "info"), "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if len(badEnv) > 0 {
		return cfg, fmt.Errorf("invalid environment: %s", strings.Join(badEnv, ", "))
	}
	cfg.MaxDepth, cfg.MaxCost, cfg.MaxSubscriptions = int(*maxDepth), int(*maxCost), int(*maxSubs)
	cfg.MaxConcurrentDecodes = int(*maxDecodes)
	if err := app.CheckFiles(cfg); err != nil {
		return cfg, err
	}
	for _, o := range strings.Split(*origins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			cfg.AllowedOrigins = append(cfg.AllowedOrigins, o)
		}
	}
	if *introspection != "" {
		cfg.Introspection = *introspection == "true"
	} else {
		cfg.Introspection = !cfg.Production
	}
	switch {
	case *secret != "":
		cfg.JWTSecret = []byte(*secret)
	case cfg.Production:
		return cfg, errors.New("PARLEY_JWT_SECRET is required in production")
	default:
		s, err := devSecret(cfg.DataDir)
		if err != nil {
			return cfg, err
		}
		cfg.JWTSecret = s
	}
	return cfg, nil
}

// devSecret returns the development JWT secret, generated on first start and
// kept beside the data so that tokens survive restarts.
func devSecret(dir string) ([]byte, error) {
	path := filepath.Join(dir, "jwt-secret")
	if b, err := os.ReadFile(path); err == nil && len(b) >= 32 {
		return b, nil
	}
	buf := make([]byte, 32)
	rand.Read(buf)
	secret := []byte(hex.EncodeToString(buf))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	if err := os.WriteFile(path, secret, 0o600); err != nil {
		return nil, fmt.Errorf("write dev secret: %w", err)
	}
	return secret, nil
}

func env(k, def string) string {
	if v, ok := os.LookupEnv(k); ok {
		return v
	}
	return def
}

// badEnv collects environment values that do not parse, so that start-up
// fails with all of them named instead of running on a default silently.
var badEnv []string

func parsed[T any](k string, def T, parse func(string) (T, error)) T {
	raw, ok := os.LookupEnv(k)
	if !ok {
		return def
	}
	v, err := parse(raw)
	if err != nil {
		badEnv = append(badEnv, fmt.Sprintf("%s=%q", k, raw))
		return def
	}
	return v
}

func envBool(k string, def bool) bool { return parsed(k, def, strconv.ParseBool) }

func envInt(k string, def int64) int64 {
	return parsed(k, def, func(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) })
}

func envDuration(k string, def time.Duration) time.Duration {
	return parsed(k, def, time.ParseDuration)
}
