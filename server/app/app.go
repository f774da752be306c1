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
	"github.com/parley-im/parley/server/playground"
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
	if postgres && cfg.DBMaxConns > 0 {
		database.SetMaxConns(db, cfg.DBMaxConns)
	}
	tokens, err := auth.NewTokens(cfg.JWTSecret, cfg.AccessTTL, cfg.RefreshTTL)
	if err != nil {
		client.Close()
		return nil, err
	}
	bus, channel, err := openBus(ctx, cfg, db, postgres, log)
	if err != nil {
		client.Close()
		return nil, err
	}
	events := eventlog.New(client, postgres, nil)
	hub := realtime.NewHub(events.Source(), bus, realtime.HubOptions{
		PollInterval: cfg.HubPollInterval, Buffer: cfg.SubscriptionBuffer, Logger: log,
	})
	events.SetNotifier(hub)

	svc := graph.Services{Client: client, Hub: hub, Events: events.Source(), Settings: settings.NewService(client)}
	client.Use(svc.Settings.MaskHook())
	client.Message.Use(messaging.IndexHook(postgres)) // message search's index, in the writer's transaction
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
		RefreshReuse:    cfg.RefreshReuse,
		SessionCacheTTL: cfg.SessionCacheTTL,
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
		EditWindow: cfg.EditWindow, ReactionCap: cfg.ReactionCap, Notices: svc.Notices,
		ReadReceiptsMaxMembers: cfg.ReceiptsMaxMembers,
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
// so that WebSocket connections end when the server stops (a WebSocket
// outlives its request, so the transport follows this context itself:
// wsgorilla.WithServerContext).
func (a *App) BaseContext() context.Context {
	return wsgorilla.WithServerContext(a.baseCtx)
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

// Ready reports whether the database answers and the bus is connected. Its
// error is a *NotReady that names the dependency down.
func (a *App) Ready(ctx context.Context) error {
	if err := a.db.PingContext(ctx); err != nil {
		return &NotReady{Dependency: "database", Err: err}
	}
	if !a.bus.Healthy() {
		return &NotReady{Dependency: "event bus", Err: errors.New("LISTEN connection down")}
	}
	return nil
}

// NotReady says which dependency of the instance is down, and why.
// /readyz answers only the dependency ("database: unavailable"): the
// cause, a driver's error, may name hosts, users and addresses, and goes
// to the log.
type NotReady struct {
	Dependency string
	Err        error
}

func (e *NotReady) Error() string { return e.Dependency + ": " + e.Err.Error() }
func (e *NotReady) Unwrap() error { return e.Err }

// readyz answers whether the instance is ready (Ready): "ready", or 503
// naming the dependency down.
func (a *App) readyz(w http.ResponseWriter, r *http.Request) {
	if err := a.Ready(r.Context()); err != nil {
		public := "unavailable"
		var nr *NotReady
		if errors.As(err, &nr) {
			public = nr.Dependency + ": unavailable"
		}
		a.log.Warn("not ready", "err", err, "request_id", middleware.GetReqID(r.Context()))
		http.Error(w, public, http.StatusServiceUnavailable)
		return
	}
	w.Write([]byte("ready"))
}

func (a *App) routes(resolver *graph.Resolver) http.Handler {
	a.metrics = newMetrics(a)
	r := chi.NewRouter()
	r.Use(cleanRequestID, requestID, a.accessLog, middleware.Recoverer) // accessLog: logging.go
	origins := a.allowedOrigins()
	r.Use(cors.Handler(cors.Options{
		AllowOriginFunc: func(r *http.Request, origin string) bool {
			return wsgorilla.OriginAllowed(origins, r)
		},
		AllowedMethods: []string{"GET", "POST", "OPTIONS"},
		AllowedHeaders: []string{
			"Authorization", "Content-Type", "Apollo-Require-Preflight", "X-Apollo-Operation-Name",
			// Apollo Client's client awareness, and a request id of the client's own.
			"Apollographql-Client-Name", "Apollographql-Client-Version", "X-Request-Id",
		},
		ExposedHeaders:   []string{"X-Request-Id"}, // what an INTERNAL_SERVER_ERROR's message names
		AllowCredentials: false,
		MaxAge:           600,
	}))
	// The probes answer HEAD too, as load balancers' checks often send it.
	healthz := func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) }
	r.Get("/healthz", healthz)
	r.Head("/healthz", healthz)
	r.Get("/readyz", a.readyz)
	r.Head("/readyz", a.readyz)
	if a.cfg.Playground {
		r.Method(http.MethodGet, "/", playground.Page())
		r.Method(http.MethodHead, "/", playground.Page())
		r.Method(http.MethodGet, playground.Prefix+"*", playground.Files())
	}
	// The API, HTTP and WebSocket, at /query and at /graphql, the path
	// most GraphQL clients and tools assume.
	api := r.With(a.uploadGuard, a.limitBody, a.authenticate, withSocket)
	gql := a.graphqlServer(resolver)
	api.Handle("/query", gql)
	api.Handle("/graphql", gql)
	if !a.cfg.Production {
		// The schema as SDL, for a client's code generator; a production
		// server keeps it to itself, as it does introspection.
		r.Get("/schema.graphql", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("Cache-Control", "no-cache")
			w.Write([]byte(graph.SDL()))
		})
	}
	a.fileRoutes(r)
	a.exportRoutes(r) // routes.go
	a.roomRoutes(r)   // routes.go
	return r
}

// devOrigins are the origins allowed in development when none are
// configured: a web app's development server on this machine, on whatever
// port it picked (Vite's 5173, Create React App's 3000...).
var devOrigins = []string{"http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"}

// allowedOrigins are the browser origins CORS and the WebSocket origin
// check allow: the configured ones, else in development devOrigins. In
// production only the configured ones (and same-origin requests).
func (a *App) allowedOrigins() []string {
	if len(a.cfg.AllowedOrigins) == 0 && !a.cfg.Production {
		return devOrigins
	}
	return a.cfg.AllowedOrigins
}

// requestID gives every request an id (chi's RequestID) and answers it in
// X-Request-Id, so that a client can quote it (an INTERNAL_SERVER_ERROR's
// message names it too). A client may send its own X-Request-Id to follow
// a request through the logs; one longer than 64 characters, or with other
// characters than letters, digits and ".:_-", is replaced by a new id.
func requestID(next http.Handler) http.Handler {
	return middleware.RequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(middleware.RequestIDHeader, middleware.GetReqID(r.Context()))
		next.ServeHTTP(w, r)
	}))
}

// cleanRequestID drops an X-Request-Id that requestID must not take as is.
func cleanRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id := r.Header.Get(middleware.RequestIDHeader); id != "" && !goodRequestID(id) {
			r.Header.Del(middleware.RequestIDHeader)
		}
		next.ServeHTTP(w, r)
	})
}

func goodRequestID(id string) bool {
	if len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(".:_-", c)) {
			return false
		}
	}
	return true
}

func (a *App) graphqlServer(resolver *graph.Resolver) http.Handler {
	srv := handler.New(graph.NewExecutableSchema(graph.Config{Resolvers: resolver}))
	// First of all, before any other extension sees the operation: an
	// operation of a WebSocket acts for the connection's live session.
	srv.AroundOperations(liveSession)
	srv.AddTransport(wsgorilla.Transport{
		Implementation:        wsSpec{inner: wsgorilla.Implementation{AllowedOrigins: a.allowedOrigins()}, metrics: a.metrics}, // wsspec.go
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
// The refusal is a 401 with a GraphQL error (extensions.code and reason) in
// the media type the request negotiates, as every answer of the endpoint,
// so that a GraphQL client (Apollo's included) reads it as a GraphQL error
// it can act on (TOKEN_EXPIRED: refresh) rather than a bare status.
func (a *App) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := graph.WithClientInfo(r.Context(), auth.Client{IP: clientIP(r), UserAgent: r.UserAgent()})
		if raw, ok := bearer(r.Header.Get("Authorization")); ok {
			v, err := a.Auth.Authenticate(ctx, raw)
			if err != nil {
				e, status := apperr.Classify(err), http.StatusUnauthorized
				if e.Code == apperr.Internal {
					// The session could not be read (the database is down):
					// not the token's fault.
					a.log.Error("authenticate", "err", err, "request_id", middleware.GetReqID(r.Context()))
					status = http.StatusServiceUnavailable
				} else {
					w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
				}
				w.Header().Set("Content-Type", responseMediaType(r.Header.Get("Accept"))) // httpspec.go
				writeResponse(w, status, false, &graphql.Response{Errors: gqlerror.List{codedError(e)}})
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
		code, reason := initRefusal(e)
		if code == closeTryAgainLater {
			a.log.ErrorContext(ctx, "websocket connection_init failed", "err", err)
		}
		ctx = wsgorilla.WithCloseReason(wsgorilla.WithCloseCode(ctx, code), reason)
		return ctx, nil, errors.New("refused: " + e.Message)
	}
	if sock := socketOf(ctx); sock != nil {
		live.OnEnd(func(reason string) { sock.endSession(closeForbidden, reason) })
	}
	release := a.resolver.Presence.Connect(live.Viewer().UserID)
	ctx = auth.NewLiveContext(viewer.NewContext(ctx, live.Viewer()), live)
	return context.WithValue(ctx, presenceKey{}, release), nil, nil
}

// initRefusal is the close code and reason of a connection_init refused
// for e. A refused token closes with 4403 and says why, so the client signs
// in again; a failure of the server's own (the database unreachable or
// slow) closes with 1013 Try Again Later, which graphql-ws and Apollo's
// clients retry, with the reason (DATABASE_UNAVAILABLE, TIMEOUT or
// INTERNAL_SERVER_ERROR) and no detail of the cause.
func initRefusal(e *apperr.Error) (code int, reason string) {
	switch {
	case e.Code == apperr.Internal && e.Reason != "":
		return closeTryAgainLater, e.Reason
	case e.Code == apperr.Internal:
		return closeTryAgainLater, string(apperr.Internal)
	case e.Reason == apperr.ReasonSessionRevoked:
		return closeForbidden, auth.EndSignedOut
	case e.Reason == apperr.ReasonTokenExpired, e.Reason == apperr.ReasonTokenInvalid, e.Reason == apperr.ReasonAccountDisabled:
		return closeForbidden, e.Reason
	}
	return closeForbidden, "FORBIDDEN"
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

// codedError is e as a GraphQL error.
func codedError(e *apperr.Error) *gqlerror.Error {
	return &gqlerror.Error{Message: e.Message, Extensions: e.Extensions()}
}

func writeError(w http.ResponseWriter, status int, e *apperr.Error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	body, _ := json.Marshal(map[string]any{"errors": []any{map[string]any{"message": e.Message, "extensions": e.Extensions()}}})
	w.Write(body)
}
