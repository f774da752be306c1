// Command server runs Parley: go run ./server. With no configuration it
// serves on :8080 with embedded SQLite under ./data; DATABASE_URL switches to
// PostgreSQL. Every setting is an environment variable and a flag (README).
//
// go run ./server admin grant|revoke USERNAME, or admin list, manages admins
// on the database the same settings name (admin.go).
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/parley-im/parley/internal/auth"
	"github.com/parley-im/parley/server/app"
)

func main() {
	args := os.Args[1:]
	if adminArgs, ok := adminCommand(args); ok {
		os.Exit(adminMain(context.Background(), adminArgs, os.Stdout, os.Stderr))
	}
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stderr, nil)))
	if err := run(args); err != nil {
		slog.Error("server stopped", "err", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	cfg, rest, err := configure(args, os.Stderr)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("unexpected argument %q: the server takes flags; its one subcommand is admin", rest[0])
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
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		a.Close()
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	playground := "off"
	if cfg.Playground {
		playground = playgroundURL(ln.Addr())
	}
	log.Info("parley listening", "addr", ln.Addr().String(), "postgres", cfg.DatabaseURL != "", "bus", busName(cfg), "playground", playground)

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

// playgroundURL is where a browser on this machine opens the playground
// served on addr: a wildcard address is reached as localhost.
func playgroundURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String() + "/"
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port) + "/"
}

// configure reads the environment, then flags (flags win), and returns the
// settings and the arguments after the flags: a subcommand and its own
// arguments. Flag errors and -h print to out.
func configure(args []string, out io.Writer) (app.Config, []string, error) {
	cfg, raw, rest, err := parseFlags(args, out)
	if err != nil {
		return cfg, nil, err
	}
	return cfg, rest, raw.apply(&cfg, true)
}

// splitCommand splits args into the flags and what follows them, the
// subcommand and its arguments, without acting on the settings (no secret
// is generated); ok is false when the flags do not parse.
func splitCommand(args []string) (flags, rest []string, ok bool) {
	_, _, rest, err := parseFlags(args, io.Discard)
	if err != nil {
		return args, nil, false
	}
	return args[:len(args)-len(rest)], rest, true
}

// rawFlags are the settings parsed as text or numbers that apply turns into
// the configuration.
type rawFlags struct {
	secret, origins, introspection, avatarHosts *string
	playground                                  *string
	maxDepth, maxCost, maxSubs, maxMutations    *int64
	registrations, messages, texts, entities    *int64
	maxDecodes                                  *int64
	dbMaxConns                                  *int64
	reactionCap                                 *int64
	readReceiptsMax                             *int64
	badEnv                                      []string // values of the environment that did not parse
}

// parseFlags reads the environment and the flags into a configuration and
// the settings apply still has to check.
func parseFlags(args []string, out io.Writer) (app.Config, rawFlags, []string, error) {
	e := &environment{}
	cfg := app.Defaults()
	fs := flag.NewFlagSet("parley", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&cfg.Addr, "addr", e.str("PARLEY_ADDR", cfg.Addr), "listen address")
	fs.StringVar(&cfg.DatabaseURL, "database-url", e.str("DATABASE_URL", ""), "PostgreSQL URL; empty for embedded SQLite")
	fs.StringVar(&cfg.BusURL, "bus-url", e.str("PARLEY_BUS_URL", ""), "NATS URL (nats://host:4222) of the bus that wakes instances; empty for PostgreSQL LISTEN/NOTIFY (in-process on SQLite)")
	fs.StringVar(&cfg.DataDir, "data-dir", e.str("PARLEY_DATA_DIR", cfg.DataDir), "directory for SQLite and the dev JWT secret")
	fs.StringVar(&cfg.UploadDir, "upload-dir", e.str("PARLEY_UPLOAD_DIR", cfg.UploadDir), "directory for uploaded files")
	var raw rawFlags
	raw.secret = fs.String("jwt-secret", e.str("PARLEY_JWT_SECRET", ""), "JWT HS256 secret (32+ bytes); required in production")
	raw.origins = fs.String("allowed-origins", e.str("PARLEY_ALLOWED_ORIGINS", ""), "comma-separated browser origins allowed for CORS and WebSocket")
	fs.BoolVar(&cfg.Production, "production", e.bool("PARLEY_PRODUCTION", false), "production mode: secret required, introspection off by default")
	raw.introspection = fs.String("introspection", e.str("PARLEY_INTROSPECTION", ""), "true/false; default on in development, off in production")
	raw.playground = fs.String("playground", e.str("PARLEY_PLAYGROUND", ""), "on/off: GraphiQL at /; default on in development, off in production")
	fs.Int64Var(&cfg.MaxBodyBytes, "max-body-bytes", e.int("PARLEY_MAX_BODY_BYTES", cfg.MaxBodyBytes), "largest request body")
	fs.DurationVar(&cfg.RequestTimeout, "request-timeout", e.duration("PARLEY_REQUEST_TIMEOUT", cfg.RequestTimeout), "deadline of one HTTP request")
	raw.maxDepth = fs.Int64("max-depth", e.int("PARLEY_MAX_DEPTH", int64(cfg.MaxDepth)), "deepest query")
	raw.maxCost = fs.Int64("max-cost", e.int("PARLEY_MAX_COST", int64(cfg.MaxCost)), "costliest query (first/last multiply)")
	raw.maxMutations = fs.Int64("max-mutation-fields", e.int("PARLEY_MAX_MUTATION_FIELDS", int64(cfg.MaxMutationFields)), "most top-level fields of one mutation, aliases counted; 0: no limit")
	raw.registrations = fs.Int64("registrations-per-hour", e.int("PARLEY_REGISTRATIONS_PER_HOUR", int64(cfg.RegistrationsPerHour)), "accounts one address registers (or one user creates) per hour; 0: no limit")
	raw.messages = fs.Int64("messages-per-minute", e.int("PARLEY_MESSAGES_PER_MINUTE", int64(cfg.MessagesPerMinute)), "messages one user sends per minute; 0: no limit")
	raw.texts = fs.Int64("texts-per-minute", e.int("PARLEY_TEXTS_PER_MINUTE", int64(cfg.TextsPerMinute)), "annotation texts one user adds per minute; 0: no limit")
	raw.entities = fs.Int64("entities-per-minute", e.int("PARLEY_ENTITIES_PER_MINUTE", int64(cfg.EntitiesPerMinute)), "entities, mentions, relation types and relations one user creates per minute; 0: no limit")
	fs.DurationVar(&cfg.WSInitTimeout, "ws-init-timeout", e.duration("PARLEY_WS_INIT_TIMEOUT", cfg.WSInitTimeout), "how long a WebSocket may wait before connection_init until it is closed (4408)")
	fs.DurationVar(&cfg.PresenceTTL, "presence-ttl", e.duration("PARLEY_PRESENCE_TTL", cfg.PresenceTTL), "a user with no heartbeat for this long is offline (crashed instance)")
	fs.DurationVar(&cfg.RefreshReuse, "refresh-reuse-interval", e.duration("PARLEY_REFRESH_REUSE_INTERVAL", cfg.RefreshReuse), "how long the refresh token just used is still answered with the session's current pair (tabs refreshing at once); 0: any replay signs out")
	fs.DurationVar(&cfg.SessionCacheTTL, "session-cache-ttl", e.duration("PARLEY_SESSION_CACHE_TTL", cfg.SessionCacheTTL), "how long an instance trusts a session it read without reading it again, unless an event ends it sooner; 0: read it on every request")
	fs.DurationVar(&cfg.RevokeWindow, "revoke-window", e.duration("PARLEY_REVOKE_WINDOW", cfg.RevokeWindow), "how long a sender may revoke a message")
	fs.DurationVar(&cfg.EditWindow, "edit-window", e.duration("PARLEY_EDIT_WINDOW", cfg.EditWindow), "how long a sender may edit a message; 0: always")
	raw.readReceiptsMax = fs.Int64("read-receipts-max-members", e.int("PARLEY_READ_RECEIPTS_MAX_MEMBERS", int64(cfg.ReceiptsMaxMembers)), "largest group whose readers Message.readBy lists; bigger groups keep only readCount")
	raw.reactionCap = fs.Int64("reaction-cap", e.int("PARLEY_REACTION_CAP", int64(cfg.ReactionCap)), "most distinct emoji one message's reactions hold")
	fs.StringVar(&cfg.PhoneRegion, "phone-region", e.str("PARLEY_PHONE_REGION", cfg.PhoneRegion), "region (ISO 3166 code) of phone numbers written without a country code; phones are stored in E.164 form")
	fs.StringVar(&cfg.WebAppURL, "web-app-url", e.str("PARLEY_WEB_APP_URL", ""), "web app address; a browser opening a room link /rooms/<id> is redirected to <web-app-url>/rooms/<id>; empty: JSON for all")
	fs.StringVar(&cfg.SMSWebhook, "sms-webhook", e.str("PARLEY_SMS_WEBHOOK", ""), "URL that receives SMS verification codes as JSON; empty logs them (development)")
	raw.maxSubs = fs.Int64("max-subscriptions", e.int("PARLEY_MAX_SUBSCRIPTIONS", int64(cfg.MaxSubscriptions)), "subscriptions per WebSocket connection")
	fs.StringVar(&cfg.StorageURL, "storage-url", e.str("PARLEY_STORAGE_URL", ""), "bucket URL for uploads (s3://, gs://, mem://, file://); empty for -upload-dir")
	fs.Int64Var(&cfg.MaxAvatarBytes, "max-avatar-bytes", e.int("PARLEY_MAX_AVATAR_BYTES", cfg.MaxAvatarBytes), "largest avatar upload")
	fs.Int64Var(&cfg.MaxImageBytes, "max-image-bytes", e.int("PARLEY_MAX_IMAGE_BYTES", cfg.MaxImageBytes), "largest image upload")
	fs.Int64Var(&cfg.MaxVoiceBytes, "max-voice-bytes", e.int("PARLEY_MAX_VOICE_BYTES", cfg.MaxVoiceBytes), "largest voice upload")
	fs.Int64Var(&cfg.MaxFileBytes, "max-file-bytes", e.int("PARLEY_MAX_FILE_BYTES", cfg.MaxFileBytes), "largest file upload")
	fs.Int64Var(&cfg.MaxImagePixels, "max-image-pixels", e.int("PARLEY_MAX_IMAGE_PIXELS", cfg.MaxImagePixels), "largest width × height of an uploaded image")
	fs.Int64Var(&cfg.MaxImageDecodeBytes, "max-image-decode-bytes", e.int("PARLEY_MAX_IMAGE_DECODE_BYTES", cfg.MaxImageDecodeBytes), "most memory decoding one uploaded image may take, as its header announces it")
	raw.dbMaxConns = fs.Int64("db-max-conns", e.int("PARLEY_DB_MAX_CONNS", int64(cfg.DBMaxConns)), "most PostgreSQL connections this instance opens (and keeps idle); instances × this must fit under max_connections")
	raw.maxDecodes = fs.Int64("max-concurrent-decodes", e.int("PARLEY_MAX_CONCURRENT_DECODES", int64(cfg.MaxConcurrentDecodes)), "uploaded images decoded at once; others wait")
	fs.DurationVar(&cfg.FileURLTTL, "file-url-ttl", e.duration("PARLEY_FILE_URL_TTL", cfg.FileURLTTL), "least lifetime of a private file's signed URL")
	fs.DurationVar(&cfg.UploadTimeout, "upload-timeout", e.duration("PARLEY_UPLOAD_TIMEOUT", cfg.UploadTimeout), "deadline of one upload request")
	raw.avatarHosts = fs.String("avatar-hosts", e.str("PARLEY_AVATAR_HOSTS", ""), "comma-separated hosts whose images may be avatars by URL; empty: only uploads")
	fs.StringVar(&cfg.MetricsAddr, "metrics-addr", e.str("PARLEY_METRICS_ADDR", ""), "listen address of Prometheus /metrics; empty: off")
	fs.StringVar(&cfg.PprofAddr, "pprof-addr", e.str("PARLEY_PPROF_ADDR", ""), "listen address of /debug/pprof/ (a bare port binds 127.0.0.1); empty: off")
	fs.StringVar(&cfg.LogFormat, "log-format", e.str("PARLEY_LOG_FORMAT", ""), "json or text; default json in production, text in development")
	fs.StringVar(&cfg.LogLevel, "log-level", e.str("PARLEY_LOG_LEVEL", "info"), "debug, info, warn or error")
	raw.badEnv = e.bad
	if err := fs.Parse(args); err != nil {
		return cfg, raw, nil, err
	}
	return cfg, raw, fs.Args(), nil
}

// apply checks the settings and completes cfg with them. Without
// withSecret it leaves the JWT secret out, neither requiring it in
// production nor generating the development one: the admin subcommand
// signs no tokens.
func (raw rawFlags) apply(cfg *app.Config, withSecret bool) error {
	if len(raw.badEnv) > 0 {
		return fmt.Errorf("invalid environment: %s", strings.Join(raw.badEnv, ", "))
	}
	for name, v := range map[string]int64{
		"max-depth": *raw.maxDepth, "max-cost": *raw.maxCost, "max-mutation-fields": *raw.maxMutations,
		"registrations-per-hour": *raw.registrations, "messages-per-minute": *raw.messages,
		"texts-per-minute": *raw.texts, "entities-per-minute": *raw.entities, "db-max-conns": *raw.dbMaxConns,
		"reaction-cap": *raw.reactionCap,
	} {
		if v < 0 || v > math.MaxInt32 {
			return fmt.Errorf("-%s must be between 0 and %d, got %d", name, math.MaxInt32, v)
		}
	}
	cfg.MaxDepth, cfg.MaxCost, cfg.MaxSubscriptions = int(*raw.maxDepth), int(*raw.maxCost), int(*raw.maxSubs)
	cfg.MaxMutationFields, cfg.RegistrationsPerHour = int(*raw.maxMutations), int(*raw.registrations)
	cfg.MessagesPerMinute, cfg.TextsPerMinute, cfg.EntitiesPerMinute = int(*raw.messages), int(*raw.texts), int(*raw.entities)
	cfg.MaxConcurrentDecodes = int(*raw.maxDecodes)
	if *raw.reactionCap < 1 {
		return fmt.Errorf("-reaction-cap must be at least 1, got %d", *raw.reactionCap)
	}
	cfg.ReactionCap = int(*raw.reactionCap)
	if *raw.readReceiptsMax < 1 {
		return fmt.Errorf("-read-receipts-max-members must be at least 1, got %d", *raw.readReceiptsMax)
	}
	cfg.ReceiptsMaxMembers = int(*raw.readReceiptsMax)
	if cfg.EditWindow < 0 {
		return fmt.Errorf("-edit-window must not be negative, got %s", cfg.EditWindow)
	}
	cfg.DBMaxConns = int(*raw.dbMaxConns)
	if err := app.CheckFiles(*cfg); err != nil {
		return err
	}
	cfg.PhoneRegion = strings.ToUpper(strings.TrimSpace(cfg.PhoneRegion))
	if err := auth.CheckPhoneRegion(cfg.PhoneRegion); err != nil {
		return fmt.Errorf("-phone-region: %w", err)
	}
	cfg.WebAppURL = strings.TrimSpace(cfg.WebAppURL)
	if err := app.CheckWebAppURL(cfg.WebAppURL); err != nil {
		return fmt.Errorf("-web-app-url %q: %w", cfg.WebAppURL, err)
	}
	cfg.AllowedOrigins = list(*raw.origins)
	cfg.AvatarHosts = list(*raw.avatarHosts)
	if *raw.introspection != "" {
		cfg.Introspection = *raw.introspection == "true"
	} else {
		cfg.Introspection = !cfg.Production
	}
	switch v := strings.ToLower(strings.TrimSpace(*raw.playground)); v {
	case "":
		cfg.Playground = !cfg.Production
	case "on", "true", "1", "yes":
		cfg.Playground = true
	case "off", "false", "0", "no":
		cfg.Playground = false
	default:
		return fmt.Errorf("-playground must be on or off, got %q", *raw.playground)
	}
	if !withSecret {
		return nil
	}
	switch {
	case *raw.secret != "":
		cfg.JWTSecret = []byte(*raw.secret)
	case cfg.Production:
		return errors.New("PARLEY_JWT_SECRET is required in production")
	default:
		s, err := devSecret(cfg.DataDir)
		if err != nil {
			return err
		}
		cfg.JWTSecret = s
	}
	return nil
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

// list splits a comma-separated setting, dropping blanks.
func list(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// environment reads settings from the process environment, collecting the
// values that do not parse, so that start-up fails with all of them named
// instead of running on a default silently.
type environment struct{ bad []string }

func (e *environment) str(k, def string) string {
	if v, ok := os.LookupEnv(k); ok {
		return v
	}
	return def
}

func parsed[T any](e *environment, k string, def T, parse func(string) (T, error)) T {
	raw, ok := os.LookupEnv(k)
	if !ok {
		return def
	}
	v, err := parse(raw)
	if err != nil {
		e.bad = append(e.bad, fmt.Sprintf("%s=%q", k, raw))
		return def
	}
	return v
}

func (e *environment) bool(k string, def bool) bool { return parsed(e, k, def, strconv.ParseBool) }

func (e *environment) int(k string, def int64) int64 {
	return parsed(e, k, def, func(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) })
}

func (e *environment) duration(k string, def time.Duration) time.Duration {
	return parsed(e, k, def, time.ParseDuration)
}

// busName says which bus wakes the instances, for the start-up log.
func busName(cfg app.Config) string {
	switch {
	case cfg.BusURL != "":
		return "nats"
	case cfg.DatabaseURL != "":
		return "postgres"
	}
	return "local"
}
