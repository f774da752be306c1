// Package app assembles Parley: the database, the event backbone, the
// services and the HTTP and WebSocket handlers. server/main.go reads the
// configuration and runs it; tests build the same App.
package app

import (
	"context"
	"time"

	"github.com/parley-im/parley/internal/auth"
	"github.com/parley-im/parley/internal/files"
	"github.com/parley-im/parley/internal/messaging"
	"github.com/parley-im/parley/internal/platform/database"
	"github.com/parley-im/parley/internal/verify"
)

// Config is the server's configuration (see the README's table).
type Config struct {
	Addr string
	// DatabaseURL selects PostgreSQL (postgres://...); empty means embedded
	// SQLite under DataDir.
	DatabaseURL string
	DataDir     string
	// BusURL selects the bus that wakes instances when the event log grows:
	// nats://host:4222 (comma-separated for a cluster) for NATS; empty is
	// PostgreSQL's LISTEN/NOTIFY on PostgreSQL, and an in-process bus on
	// SQLite (one instance).
	BusURL string
	// DBMaxConns is how many PostgreSQL connections the instance opens at
	// most, and keeps open while idle (a minute): every instance's pool must
	// fit, with every other client, under the server's max_connections.
	DBMaxConns int
	// JWTSecret signs tokens; required in production, generated once and
	// kept in DataDir in development.
	JWTSecret      []byte
	AllowedOrigins []string
	UploadDir      string // uploaded files, when StorageURL is empty
	Production     bool
	Introspection  bool
	// Playground serves GraphiQL at "/" (server/playground): on by default
	// in development, off in production unless switched on.
	Playground bool

	MaxBodyBytes      int64
	RequestTimeout    time.Duration
	MaxDepth, MaxCost int
	MaxTokens         int // gqlparser's limit on a query's tokens
	MaxSubscriptions  int // per WebSocket connection
	KeepAlive         time.Duration
	AccessTTL         time.Duration
	RefreshTTL        time.Duration
	// RefreshReuse is the refresh token reuse interval: the refresh token
	// just used, presented again within this time, is answered with the
	// session's current pair instead of ending the session (two tabs
	// refreshing at once; see auth.Service.Refresh). 0 ends the session
	// on any replay.
	RefreshReuse time.Duration
	// SessionCacheTTL is how long an instance answers a request's
	// authentication from memory for a session it read (see
	// auth.Service.Authenticate): the bound on a revocation that no
	// event reaches it with. 0 reads the session on every request.
	SessionCacheTTL    time.Duration
	BcryptCost         int
	LoginBurst         int
	LoginRefill        time.Duration
	HubPollInterval    time.Duration
	SubscriptionBuffer int
	PresenceTTL        time.Duration // presence rows not refreshed for this long are stale

	// Password guesses (sign-in, changePassword, deleteAccount; see
	// auth.Guard): LoginBurst per account and address, one more per
	// LoginRefill, counted in the database; LoginAddressBurst per address,
	// counted per process, and LoginAccountBurst per account (the
	// backstop), counted in the database, each one more per 30 s.
	LoginAddressBurst, LoginAccountBurst int
	// RegistrationsPerHour is how many accounts one address registers, or
	// one user creates, per hour (per process); 0 is no limit.
	RegistrationsPerHour int
	// MaxMutationFields is the most top-level fields of one mutation
	// operation, aliases counted; 0 is no limit.
	MaxMutationFields int
	// Writes per user per minute (per process; see ratelimit.Budget): messages
	// sent, texts added, and entities, mentions, relation types and
	// relations created. 0 is no limit.
	MessagesPerMinute, TextsPerMinute, EntitiesPerMinute int

	// SMSWebhook is the URL of an SMS gateway that receives each
	// verification code as JSON; empty logs codes instead (development).
	SMSWebhook string
	// CodeSender overrides SMSWebhook (tests record the codes).
	CodeSender verify.Sender
	Codes      verify.Options

	// PhoneRegion is the region (ISO 3166 code, such as CN) of phone
	// numbers written without a country code; every phone is stored in
	// E.164 form (auth.NormalizePhone).
	PhoneRegion string

	// WebAppURL is the web app's address (https://chat.example.com): a
	// browser opening a room's shared link, GET /rooms/{id}, is redirected
	// to its page of the room, <WebAppURL>/rooms/<id>. Empty answers every
	// reader with the room's card as JSON.
	WebAppURL string

	// RevokeWindow is how long a sender may revoke his message.
	RevokeWindow time.Duration
	// EditWindow is how long a sender may edit his message; 0 is no limit.
	EditWindow time.Duration
	// ReactionCap is how many distinct emoji one message's reactions hold
	// at most.
	ReactionCap int
	// ReceiptsMaxMembers is the largest group whose readers
	// Message.readBy lists; bigger groups keep only readCount.
	ReceiptsMaxMembers int

	// TraceSQL, when set, is called with every SQL statement the ent client
	// runs and its context (tests count the statements of one request).
	TraceSQL func(ctx context.Context, args ...any)
	// LoaderWait is how long a request's loaders gather keys before they
	// query; 0 means 1 ms (graph.Resolver.LoaderWait).
	LoaderWait time.Duration

	// Files (graph/files). StorageURL is a gocloud.dev/blob bucket URL
	// (s3://, gs://, mem://, file://); empty stores under UploadDir.
	StorageURL string
	// The largest upload of each kind, in bytes.
	MaxAvatarBytes, MaxImageBytes, MaxVoiceBytes, MaxFileBytes int64
	// MaxImagePixels bounds width × height of an uploaded image.
	MaxImagePixels int64
	// MaxImageDecodeBytes bounds the memory decoding one uploaded image
	// takes, as its header announces it; MaxConcurrentDecodes bounds the
	// images that decode at once. Their product bounds the memory of image
	// checks.
	MaxImageDecodeBytes  int64
	MaxConcurrentDecodes int
	// FileURLTTL is how long a private file's signed URL lasts, at least
	// (at most twice as long).
	FileURLTTL time.Duration
	// UploadTimeout replaces RequestTimeout for multipart requests.
	UploadTimeout time.Duration
	// AvatarHosts are the hosts of other servers whose images users may
	// give as avatars by URL ("*.example.com" for subdomains); empty allows
	// only avatars uploaded here.
	AvatarHosts []string

	// Operations (ops.go, logging.go). MetricsAddr and PprofAddr are the
	// listeners of /metrics and /debug/pprof/, off when empty. LogFormat is
	// json or text (empty: json in production, text otherwise), LogLevel
	// debug, info, warn or error.
	MetricsAddr, PprofAddr string
	LogFormat, LogLevel    string
	// WSInitTimeout is how long a WebSocket may wait before connection_init
	// (then 4408).
	WSInitTimeout time.Duration
}

// Defaults returns the development configuration.
func Defaults() Config {
	return Config{
		Addr:               ":8080",
		DataDir:            "./data",
		UploadDir:          "./data/uploads",
		Introspection:      true,
		Playground:         true,
		MaxBodyBytes:       1 << 20,
		RequestTimeout:     15 * time.Second,
		MaxDepth:           12,
		MaxCost:            20000,
		MaxTokens:          15000,
		MaxSubscriptions:   32,
		KeepAlive:          15 * time.Second,
		DBMaxConns:         database.DefaultMaxConns,
		AccessTTL:          15 * time.Minute,
		RefreshTTL:         30 * 24 * time.Hour,
		RefreshReuse:       30 * time.Second,
		SessionCacheTTL:    auth.DefaultSessionCacheTTL,
		LoginBurst:         5,
		LoginRefill:        time.Minute,
		HubPollInterval:    2 * time.Second,
		SubscriptionBuffer: 256,
		RevokeWindow:       2 * time.Minute,
		EditWindow:         messaging.DefaultEditWindow,
		ReactionCap:        messaging.DefaultReactionCap,
		ReceiptsMaxMembers: messaging.DefaultReadReceiptsMaxMembers,
		PhoneRegion:        auth.DefaultPhoneRegion,
		MaxAvatarBytes:     files.DefaultMaxAvatarBytes,
		MaxImageBytes:      files.DefaultMaxImageBytes,
		MaxVoiceBytes:      files.DefaultMaxVoiceBytes,
		MaxFileBytes:       files.DefaultMaxFileBytes,
		MaxImagePixels:     files.DefaultMaxPixels,
		FileURLTTL:         files.DefaultURLTTL,
		UploadTimeout:      5 * time.Minute,
		PresenceTTL:        45 * time.Second,
		WSInitTimeout:      10 * time.Second,

		LoginAddressBurst:    20,
		LoginAccountBurst:    100,
		RegistrationsPerHour: 10,
		MaxMutationFields:    10,
		MessagesPerMinute:    120,
		TextsPerMinute:       60,
		EntitiesPerMinute:    600,
		MaxImageDecodeBytes:  files.DefaultMaxDecodeBytes,
		MaxConcurrentDecodes: files.DefaultMaxConcurrentDecodes,
	}
}
