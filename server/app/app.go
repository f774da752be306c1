package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"database/sql"
	"encoding/json"

	"entgo.io/contrib/entgql"
	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/99designs/gqlgen/graphql/playground"
	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/go-chi/cors"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/graph"
	"github.com/parley-im/parley/graph/limits"
	"github.com/parley-im/parley/graph/presenter"
	"github.com/parley-im/parley/graph/wsgorilla"
	"github.com/parley-im/parley/internal/annotation"
	"github.com/parley-im/parley/internal/auth"
	"github.com/parley-im/parley/internal/files"
	"github.com/parley-im/parley/internal/group"
	"github.com/parley-im/parley/internal/messaging"
	"github.com/parley-im/parley/internal/notice"
	"github.com/parley-im/parley/internal/platform/apperr"
	"github.com/parley-im/parley/internal/platform/database"
	"github.com/parley-im/parley/internal/platform/eventlog"
	"github.com/parley-im/parley/internal/platform/ratelimit"
	"github.com/parley-im/parley/internal/platform/realtime"
	"github.com/parley-im/parley/internal/presence"
	"github.com/parley-im/parley/internal/room"
	"github.com/parley-im/parley/internal/settings"
	"github.com/parley-im/parley/internal/social"
	"github.com/parley-im/parley/internal/verify"
)

// App is one running Parley instance.
type App struct {
	cfg     Config
	log     *slog.Logger
	Client  *ent.Client
	Events  *eventlog.Log
	db      *sql.DB
	bus     realtime.Bus
	Hub     *realtime.Hub
	Auth    *auth.Service
	Files   *files.Service
	handler http.Handler
	metrics *metrics // metrics.go
	online  *room.Announcer

	resolver *graph.Resolver
	stopHub  context.CancelFunc
	stop     context.CancelFunc // ends every live connection
	baseCtx  context.Context
	hubDone  chan struct{}
	closeOne sync.Once
}

// New opens the database, migrates it, starts the event hub and builds the
// handlers.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*App, error) {
	if err := auth.CheckPhoneRegion(cfg.PhoneRegion); err != nil {
		return nil, fmt.Errorf("PARLEY_PHONE_REGION: %w", err)
	}
	if err := CheckWebAppURL(cfg.WebAppURL); err != nil {
		return nil, fmt.Errorf("PARLEY_WEB_APP_URL %q: %w", cfg.WebAppURL, err)
	}
	opened, err := database.Open(ctx, cfg.DatabaseURL, cfg.DataDir, cfg.TraceSQL)
	if err != nil {
		return nil, err
	}
	client, db, postgres := opened.Client, opened.SQL, opened.Postgres
	tokens, err := auth.NewTokens(cfg.JWTSecret, cfg.AccessTTL, cfg.RefreshTTL)
	if err != nil {
		client.Close()
		return nil, err
	}
	channel := "parley_events"
	var bus realtime.Bus
	if postgres {
		if channel, err = busChannel(ctx, db); err != nil {
			client.Close()
			return nil, err
		}
		if bus, err = realtime.NewPGBus(db, cfg.DatabaseURL, channel, log); err != nil {
			client.Close()
			return nil, err
		}
	} else {
		bus = realtime.NewLocalBus() // only here: an unused one would leak its pump goroutine
	}
	events := eventlog.New(client, postgres, nil)
	hub := realtime.NewHub(events.Source(), bus, realtime.HubOptions{
		PollInterval: cfg.HubPollInterval, Buffer: cfg.SubscriptionBuffer, Logger: log,
	})
	events.SetNotifier(hub)

	svc := graph.Services{Client: client, Hub: hub, Events: events.Source(), Settings: settings.NewService(client)}
	client.Use(svc.Settings.MaskHook())
	svc.Notices = notice.NewService(events)
	if svc.Files, err = newFiles(ctx, cfg, client, log); err != nil {
		bus.Close()
		client.Close()
		return nil, err
	}
	svc.Social = social.NewService(client, events, svc.Notices, svc.Settings, svc.Files, cfg.PhoneRegion)
	if err := svc.Social.SortFriendships(ctx); err != nil {
		bus.Close()
		client.Close()
		svc.Files.Close()
		return nil, err
	}
	svc.Auth = auth.NewService(client, tokens, auth.Options{
		BcryptCost: cfg.BcryptCost,
		Guesses: auth.GuardOptions{
			PairBurst: cfg.LoginBurst, PairEvery: cfg.LoginRefill,
			AddressBurst: cfg.LoginAddressBurst, AccountBurst: cfg.LoginAccountBurst,
		},
		AccountsPerHour: cfg.RegistrationsPerHour,
		Settings:        svc.Settings,
		Codes:           verify.NewService(client, codeSender(cfg, log), cfg.JWTSecret, cfg.Codes),
		Events:          events,
		PhoneRegion:     cfg.PhoneRegion,
	})
	hubCtx, stopHub := context.WithCancel(context.Background())
	base, stop := context.WithCancel(context.Background())
	a := &App{
		cfg: cfg, log: log, Client: client, Events: events, db: db, bus: bus, Hub: hub,
		Files: svc.Files, Auth: svc.Auth,
		stopHub: stopHub, stop: stop, baseCtx: base, hubDone: make(chan struct{}),
	}
	a.Auth.WatchSessions(hub) // live connections end with their sessions, on every instance
	go func() {
		defer close(a.hubDone)
		if err := hub.Run(hubCtx); err != nil && !errors.Is(err, context.Canceled) {
			log.Error("event hub stopped", "err", err)
		}
	}()
	svc.Presence = presence.New(client, hub, presence.Options{TTL: cfg.PresenceTTL, Postgres: postgres, NotifyChannel: channel, Logger: log})
	budget := ratelimit.NewBudget(ratelimit.BudgetOptions{
		MessagesPerMinute: cfg.MessagesPerMinute, TextsPerMinute: cfg.TextsPerMinute, EntitiesPerMinute: cfg.EntitiesPerMinute,
	})
	svc.Messaging = messaging.NewService(client, events, svc.Social, svc.Settings, svc.Files, hub, messaging.Options{
		RevokeWindow: cfg.RevokeWindow, Budget: budget, Groups: group.NewPosting(svc.Settings),
	})
	svc.Annotation = annotation.NewService(client, events, budget)
	svc.Groups = group.NewService(client, events, svc.Messaging, svc.Notices, svc.Settings, svc.Social, svc.Files)
	svc.Rooms = room.NewService(client, events, svc.Messaging, svc.Files, svc.Presence)
	// Deleting an account lets the user go from each domain in turn: groups
	// hand over, rooms close, projects go, then his messages are erased.
	svc.Social.LetGoWith(svc.Auth, svc.Groups, svc.Rooms, svc.Annotation, svc.Messaging)
	// Members coming online or going offline change their rooms' online
	// counts: the announcer tells the rooms' watchers (room.online).
	a.online = room.NewAnnouncer(svc.Rooms, room.AnnouncerOptions{Logger: log})
	svc.Presence.OnChange(a.online.Changed)
	a.online.Start()
	svc.Presence.Start()
	a.resolver = graph.NewResolver(svc, graph.Options{Log: log, LoaderWait: cfg.LoaderWait})
	a.handler = a.routes(a.resolver)
	return a, nil
}

// busChannel names the NOTIFY channel of this deployment. Channels are
// shared by a whole database, so a deployment in its own schema (tests run
// one per schema) gets its own channel; otherwise ephemeral events such as
// typing and presence would reach the subscribers of another deployment.
func busChannel(ctx context.Context, db *sql.DB) (string, error) {
	var schema string
	if err := db.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return "", fmt.Errorf("app: current schema: %w", err)
	}
	if schema == "" || schema == "public" {
		return "parley_events", nil
	}
	name := "parley_events_" + strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' {
			return r
		}
		return '_'
	}, strings.ToLower(schema))
	if len(name) > 63 {
		name = name[:63]
	}
	return name, nil
}

// codeSender picks where SMS codes go: the configured sender (tests), an
// SMS gateway's webhook, or the log in development.
func codeSender(cfg Config, log *slog.Logger) verify.Sender {
	switch {
	case cfg.CodeSender != nil:
		return cfg.CodeSender
	case cfg.SMSWebhook != "":
		return verify.NewWebhookSender(cfg.SMSWebhook)
	}
	return verify.LogSender{Log: log}
}

// Handler is the HTTP handler of the whole API.
func (a *App) Handler() http.Handler { return a.handler }

// BaseContext is the context every connection derives from; Close cancels it
// so that WebSocket connections end when the server stops.
func (a *App) BaseContext() context.Context {
	return transport.WithWebsocketCloseCode(a.baseCtx, 1001)
}

// Close ends subscriptions (each gets a stream.closed event with reason
// SHUTDOWN), then live connections (close code 1001), then the database.
func (a *App) Close() error {
	a.closeOne.Do(func() {
		a.resolver.Presence.Close() // offline events go out while the bus is up
		a.online.Close()            // and the rooms' counts they lower, while the hub runs
		a.stopHub()
		<-a.hubDone
		a.resolver.WaitStreams(2 * time.Second)
		time.Sleep(50 * time.Millisecond) // let gqlgen write the last frames
		a.stop()
		a.bus.Close()
		a.Client.Close()
		a.Files.Close()
	})
	return nil
}

// Ready reports whether the database answers and the bus is connected.
func (a *App) Ready(ctx context.Context) error {
	if err := a.db.PingContext(ctx); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	if !a.bus.Healthy() {
		return errors.New("event bus: disconnected")
	}
	return nil
}

func (a *App) routes(resolver *graph.Resolver) http.Handler {
	a.metrics = newMetrics(a)
	r := chi.NewRouter()
	r.Use(middleware.RequestID, a.accessLog, middleware.Recoverer) // accessLog: logging.go
	r.Use(cors.Handler(cors.Options{
		AllowOriginFunc: func(r *http.Request, origin string) bool {
			return wsgorilla.OriginAllowed(a.cfg.AllowedOrigins, r)
		},
		AllowedMethods:   []string{"GET", "POST", "OPTIONS"},
		AllowedHeaders:   []string{"Authorization", "Content-Type", "Apollo-Require-Preflight", "X-Apollo-Operation-Name"},
		AllowCredentials: false,
		MaxAge:           600,
	}))
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) })
	r.Get("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := a.Ready(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready"))
	})
	r.Get("/", playground.Handler("Parley", "/query"))
	if !a.cfg.Production {
		// The schema as SDL, for a client's code generator; a production
		// server keeps it to itself, as it does introspection.
		r.Get("/schema.graphql", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("Cache-Control", "no-cache")
			w.Write([]byte(graph.SDL()))
		})
	}
	r.With(a.uploadGuard, a.limitBody, a.authenticate, withSocket).Handle("/query", a.graphqlServer(resolver))
	a.fileRoutes(r)
	a.exportRoutes(r) // export.go
	a.roomRoutes(r)   // rooms.go
	return r
}

func (a *App) graphqlServer(resolver *graph.Resolver) http.Handler {
	srv := handler.New(graph.NewExecutableSchema(graph.Config{Resolvers: resolver}))
	// First of all, before any other extension sees the operation: an
	// operation of a WebSocket acts for the connection's live session.
	srv.AroundOperations(liveSession)
	srv.AddTransport(transport.Websocket{
		Implementation:        wsSpec{inner: wsgorilla.Implementation{AllowedOrigins: a.cfg.AllowedOrigins}, metrics: a.metrics}, // wsspec.go
		InitFunc:              a.websocketInit,
		CloseFunc:             a.websocketClose,
		KeepAlivePingInterval: a.cfg.KeepAlive,
		PingPongInterval:      a.cfg.KeepAlive,
		InitTimeout:           a.cfg.WSInitTimeout,
	})
	srv.AddTransport(transport.Options{})
	// Uploads (GraphQL multipart request spec): files.go; their refusals
	// coded by codedTransport (httpspec.go).
	srv.AddTransport(codedTransport{a.multipartTransport()})
	srv.AddTransport(httpTransport{}) // GET and POST as the GraphQL-over-HTTP spec asks: httpspec.go
	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	srv.SetParserTokenLimit(a.cfg.MaxTokens)
	if a.cfg.Introspection {
		srv.Use(extension.Introspection{})
	} else {
		srv.Use(refuseIntrospection{}) // introspection.go
	}
	if a.cfg.Production || !a.cfg.Introspection {
		// Validation errors would otherwise suggest the schema's names.
		srv.SetDisableSuggestion(true)
		srv.SetValidationRulesFn(rulesWithoutSuggestions)
	}
	srv.Use(operationMetrics{a.metrics}) // metrics.go
	srv.Use(extension.AutomaticPersistedQuery{Cache: lru.New[string](1000)})
	srv.Use(limits.Limits{MaxDepth: a.cfg.MaxDepth, MaxCost: a.cfg.MaxCost, MaxMutationFields: a.cfg.MaxMutationFields})
	srv.Use(presenter.HideUncoded(a.log))
	// Every mutation runs in one transaction, except those with a step that
	// must commit although the request fails: refreshToken's replay
	// detection, the counted attempts of SMS codes and the counted password
	// guesses of login, changePassword and deleteAccount. They run their
	// own transactions (graph/txn) after that step. uploadFile needs none
	// for its one insert, and must not hold SQLite's write lock while it
	// decodes an image.
	srv.Use(transactions{entgql.Transactioner{TxOpener: a.Client, SkipTxFunc: entgql.SkipIfHasFields(
		"refreshToken", "register", "resetPassword", "changePassword", "uploadFile", "login", "deleteAccount",
	)}})
	srv.AroundOperations(a.capSubscriptions)
	srv.AroundOperations(resolver.WithLoaders)
	srv.AroundResponses(resolver.WithPresenceReads)
	srv.SetErrorPresenter(presenter.Presenter(a.log))
	srv.SetRecoverFunc(presenter.Recover(a.log))
	return srv
}

// limitBody bounds request bodies and gives plain HTTP requests a deadline
// (WebSocket connections live as long as they are open).
func (a *App) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, a.bodyLimit(r)) // files.go
		}
		if timeout := a.requestTimeout(r); !isWebsocket(r) && timeout > 0 {
			ctx, cancel := context.WithTimeout(r.Context(), timeout)
			defer cancel()
			r = r.WithContext(ctx)
		}
		next.ServeHTTP(w, r)
	})
}

func isWebsocket(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// authenticate puts the viewer of a bearer token in the request context. A
// request without a token is anonymous; one with a bad token is refused, so
// that a client never mistakes a failed sign-in for an anonymous answer.
func (a *App) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := graph.WithClientInfo(r.Context(), auth.Client{IP: clientIP(r), UserAgent: r.UserAgent()})
		if raw, ok := bearer(r.Header.Get("Authorization")); ok {
			v, err := a.Auth.Authenticate(ctx, raw)
			if err != nil {
				writeError(w, http.StatusUnauthorized, apperr.Classify(err))
				return
			}
			ctx = viewer.NewContext(ctx, v)
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// websocketInit authenticates a WebSocket connection from its
// connection_init payload ({"Authorization": "Bearer ..."} or
// {"authToken": "..."}). A bad token closes the connection with 4403 and
// the reason (TOKEN_INVALID, TOKEN_EXPIRED, SIGNED_OUT, ACCOUNT_DISABLED).
// A good one makes the connection act for its session (auth.Live) until
// the session ends, whatever the token's own expiry: then the connection's
// streams end and it closes with 4403 and the reason of the end.
func (a *App) websocketInit(ctx context.Context, p transport.InitPayload) (context.Context, *transport.InitPayload, error) {
	raw, ok := bearer(p.Authorization())
	if !ok {
		if t, isString := p["authToken"].(string); isString && t != "" {
			raw, ok = t, true
		}
	}
	ctx = context.WithValue(ctx, subscriptionsKey{}, new(atomic.Int64))
	if !ok {
		return ctx, nil, nil
	}
	live, err := a.Auth.Connect(ctx, raw)
	if err != nil {
		e := apperr.Classify(err)
		ctx = transport.AppendCloseReason(transport.WithWebsocketCloseCode(ctx, closeForbidden), refusalReason(e))
		return ctx, nil, errors.New("forbidden: " + e.Message)
	}
	if sock := socketOf(ctx); sock != nil {
		live.OnEnd(func(reason string) { sock.endSession(closeForbidden, reason) })
	}
	release := a.resolver.Presence.Connect(live.Viewer().UserID)
	ctx = auth.NewLiveContext(viewer.NewContext(ctx, live.Viewer()), live)
	return context.WithValue(ctx, presenceKey{}, release), nil, nil
}

// refusalReason is the close reason of a connection_init refused for e.
func refusalReason(e *apperr.Error) string {
	switch e.Reason {
	case apperr.ReasonSessionRevoked:
		return auth.EndSignedOut
	case apperr.ReasonTokenExpired, apperr.ReasonTokenInvalid, apperr.ReasonAccountDisabled:
		return e.Reason
	}
	return "FORBIDDEN"
}

// presenceKey carries the presence release of an authenticated connection.
type presenceKey struct{}

// websocketClose ends the connection's presence and stops following its
// session. gqlgen calls it once per connection, with the context
// websocketInit returned if it succeeded; a connection refused or never
// authenticated has neither.
func (a *App) websocketClose(ctx context.Context, _ int) {
	if release, ok := ctx.Value(presenceKey{}).(func()); ok {
		release()
	}
	if live := auth.LiveFromContext(ctx); live != nil {
		live.Release()
	}
}

// liveSession authorizes every operation of a WebSocket connection against
// the session the connection acts for, before anything else runs: once the
// session has ended, on any instance, the operation is refused as a request
// with that session's token would be; until then it runs as the session's
// current viewer (a role change applies at once). Plain HTTP requests have
// no Live: authenticate read their session.
func liveSession(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	live := auth.LiveFromContext(ctx)
	if live == nil {
		return next(ctx)
	}
	if err := live.Err(); err != nil {
		e := apperr.Classify(err)
		return graphql.OneShot(&graphql.Response{Errors: gqlerror.List{{Message: e.Message, Extensions: e.Extensions()}}})
	}
	return next(viewer.NewContext(ctx, live.Viewer()))
}

// transactions is entgql.Transactioner once per operation. Over HTTP a
// mutation's response handler is called once; a WebSocket transport calls it
// until it answers nil, and the Transactioner would open a second
// transaction for that call and fail on the nil response after the first
// had committed. transactions answers nil itself once the mutation has
// answered.
type transactions struct{ entgql.Transactioner }

// InterceptOperation ends a mutation's responses after its first.
func (t transactions) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	h := next(ctx)
	if oc := graphql.GetOperationContext(ctx); oc.Operation == nil || oc.Operation.Operation != ast.Mutation {
		return h
	}
	var answered atomic.Bool
	return func(ctx context.Context) *graphql.Response {
		if answered.Swap(true) {
			return nil
		}
		return h(ctx)
	}
}

type subscriptionsKey struct{}

// capSubscriptions bounds the subscriptions one WebSocket connection holds.
func (a *App) capSubscriptions(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	oc := graphql.GetOperationContext(ctx)
	count, _ := ctx.Value(subscriptionsKey{}).(*atomic.Int64)
	if count == nil || oc.Operation == nil || oc.Operation.Operation != "subscription" {
		return next(ctx)
	}
	if count.Add(1) > int64(a.cfg.MaxSubscriptions) {
		count.Add(-1)
		return graphql.OneShot(&graphql.Response{Errors: gqlerror.List{{
			Message:    fmt.Sprintf("at most %d subscriptions per connection", a.cfg.MaxSubscriptions),
			Extensions: map[string]any{"code": string(apperr.RateLimited), "reason": "TOO_MANY_SUBSCRIPTIONS"},
		}}})
	}
	h := next(ctx)
	var once sync.Once
	return func(ctx context.Context) *graphql.Response {
		rsp := h(ctx)
		if rsp == nil {
			once.Do(func() { count.Add(-1) })
		}
		return rsp
	}
}

func bearer(h string) (string, bool) {
	const prefix = "bearer "
	if len(h) > len(prefix) && strings.EqualFold(h[:len(prefix)], prefix) {
		return strings.TrimSpace(h[len(prefix):]), true
	}
	return "", false
}

func clientIP(r *http.Request) string {
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i > 0 {
		host = host[:i]
	}
	return strings.Trim(host, "[]")
}

func writeError(w http.ResponseWriter, status int, e *apperr.Error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	body, _ := json.Marshal(map[string]any{"errors": []any{map[string]any{"message": e.Message, "extensions": e.Extensions()}}})
	w.Write(body)
}
