// Package app assembles Parley: the database, the event backbone, the
// services and the HTTP and WebSocket handlers. server/main.go reads the
// configuration and runs it; tests build the same App.
package app

import (
	"time"
)

// Config is the server's configuration (see the README's table).
type Config struct {
	Addr string
	// DatabaseURL selects PostgreSQL (postgres://...); empty means embedded
	// SQLite under DataDir.
	DatabaseURL string
	DataDir     string
	// JWTSecret signs tokens; required in production, generated once and
	// kept in DataDir in development.
	JWTSecret      []byte
	AllowedOrigins []string
	UploadDir      string
	Production     bool
	Introspection  bool

	MaxBodyBytes       int64
	RequestTimeout     time.Duration
	MaxDepth, MaxCost  int
	MaxTokens          int // gqlparser's limit on a query's tokens
	MaxSubscriptions   int // per WebSocket connection
	KeepAlive          time.Duration
	AccessTTL          time.Duration
	RefreshTTL         time.Duration
	BcryptCost         int
	LoginBurst         int
	LoginRefill        time.Duration
	HubPollInterval    time.Duration
	SubscriptionBuffer int
}

// Defaults returns the development configuration.
func Defaults() Config {
	return Config{
		Addr:               ":8080",
		DataDir:            "./data",
		UploadDir:          "./data/uploads",
		Introspection:      true,
		MaxBodyBytes:       1 << 20,
		RequestTimeout:     15 * time.Second,
		MaxDepth:           12,
		MaxCost:            20000,
		MaxTokens:          15000,
		MaxSubscriptions:   32,
		KeepAlive:          15 * time.Second,
		AccessTTL:          15 * time.Minute,
		RefreshTTL:         30 * 24 * time.Hour,
		LoginBurst:         5,
		LoginRefill:        30 * time.Second,
		HubPollInterval:    2 * time.Second,
		SubscriptionBuffer: 256,
	}
}
