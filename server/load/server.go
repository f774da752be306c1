package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	_ "github.com/lib/pq"
	"golang.org/x/crypto/bcrypt"

	"github.com/parley-im/parley/internal/platform/dbtest"
	"github.com/parley-im/parley/server/app"
)

// schemaDB is the scratch PostgreSQL schema a run works in.
type schemaDB struct {
	base   string // the URL given
	url    string // base with search_path set to the schema
	name   string
	db     *sql.DB // a pool on url, for seeding and checks
	keep   bool
	closed sync.Once
}

// newSchema creates load_<random> in the database of base.
func newSchema(ctx context.Context, base string, keep bool) (*schemaDB, error) {
	name, u, err := dbtest.NewSchema(ctx, base, "load")
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("postgres", u)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(8)
	return &schemaDB{base: base, url: u, name: name, db: db, keep: keep}, nil
}

func (s *schemaDB) Close() {
	s.closed.Do(func() {
		s.db.Close()
		if s.keep {
			fmt.Fprintf(os.Stderr, "kept schema %s\n", s.name)
			return
		}
		dbtest.DropSchema(s.base, s.name)
	})
}

// inProcess is a Parley App served over real HTTP on a loopback port by this
// process: its CPU profile and its SQL can be recorded.
type inProcess struct {
	dir    string
	base   string
	app    *app.App
	srv    *http.Server
	secret []byte
	closed sync.Once
}

// sqlTrace records the statements the in-process server runs while on.
type sqlTrace struct {
	mu    sync.Mutex
	on    bool
	stmts []string
}

func (t *sqlTrace) hook(_ context.Context, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.on {
		t.stmts = append(t.stmts, fmt.Sprint(args...))
	}
}

func (t *sqlTrace) start() {
	t.mu.Lock()
	t.on, t.stmts = true, nil
	t.mu.Unlock()
}

func (t *sqlTrace) stop() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.on = false
	return t.stmts
}

// startInProcess starts the app on dbURL. The configuration is the
// development default except for the cheapest bcrypt (only registration
// hashes passwords, and the tool registers thousands of users) and no
// sign-in, registration or write throttling. busURL is Config.BusURL: empty
// is PostgreSQL's LISTEN/NOTIFY. Several of them on one dbURL with one
// secret are instances of one deployment, each with its own hub polling at
// the default interval between the bus's wake-ups.
func startInProcess(ctx context.Context, dbURL string, secret []byte, trace *sqlTrace, busURL string) (*inProcess, error) {
	cfg := app.Defaults()
	cfg.DatabaseURL = dbURL
	cfg.BusURL = busURL
	dir, err := os.MkdirTemp("", "parley-load-")
	if err != nil {
		return nil, err
	}
	cfg.DataDir = dir
	cfg.UploadDir = filepath.Join(dir, "uploads")
	cfg.JWTSecret = secret
	cfg.BcryptCost = bcrypt.MinCost
	cfg.LoginBurst = 1 << 20
	cfg.LoginAddressBurst, cfg.LoginAccountBurst = 1<<20, 1<<20
	cfg.RegistrationsPerHour = 0
	cfg.MessagesPerMinute, cfg.TextsPerMinute, cfg.EntitiesPerMinute = 0, 0, 0
	if trace != nil {
		cfg.TraceSQL = trace.hook
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		a.Close()
		os.RemoveAll(dir)
		return nil, err
	}
	srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return a.BaseContext() }}
	go srv.Serve(ln)
	return &inProcess{dir: dir, base: "http://" + ln.Addr().String(), app: a, srv: srv, secret: secret}, nil
}

func (p *inProcess) Close() {
	p.closed.Do(func() {
		p.app.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		p.srv.Shutdown(ctx)
		os.RemoveAll(p.dir)
	})
}

// spawned is a server binary run as a child process, so that its memory
// can be read from /proc.
type spawned struct {
	base string
	cmd  *exec.Cmd
	dir  string
	log  string
}

// buildServer builds ./server into dir and returns the binary's path.
func buildServer(ctx context.Context, dir string) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "parley")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./server")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./server: %v\n%s", err, out)
	}
	return bin, nil
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run the load tool from inside the Parley module (go run ./server/load)")
	}
	return filepath.Dir(mod), nil
}

// unthrottled is the environment that turns off the limits a load run
// would trip over: it registers thousands of users from one address, and
// its senders write as fast as the server lets them.
var unthrottled = []string{
	"PARLEY_REGISTRATIONS_PER_HOUR=0", "PARLEY_MESSAGES_PER_MINUTE=0",
	"PARLEY_TEXTS_PER_MINUTE=0", "PARLEY_ENTITIES_PER_MINUTE=0",
}

// spawn runs bin on dbURL with secret on a free loopback port and waits for
// /readyz.
func spawn(ctx context.Context, bin, dbURL string, secret []byte, extraEnv ...string) (*spawned, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	dir, err := os.MkdirTemp("", "parley-spawn-")
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "server.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-addr", addr)
	cmd.Env = append(os.Environ(),
		"DATABASE_URL="+dbURL, "PARLEY_JWT_SECRET="+string(secret),
		"PARLEY_DATA_DIR="+dir, "PARLEY_UPLOAD_DIR="+filepath.Join(dir, "uploads"))
	cmd.Env = append(cmd.Env, unthrottled...)
	cmd.Env = append(cmd.Env, extraEnv...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &spawned{base: "http://" + addr, cmd: cmd, dir: dir, log: logPath}
	if err := waitReady(ctx, s.base, 60*time.Second); err != nil {
		s.Close()
		b, _ := os.ReadFile(logPath)
		return nil, fmt.Errorf("spawned server not ready: %v\n%s", err, b)
	}
	return s, nil
}

func (s *spawned) Close() {
	if s.cmd.Process != nil {
		s.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(25 * time.Second):
			s.cmd.Process.Kill()
			<-done
		}
	}
	os.RemoveAll(s.dir)
}

// waitReady polls base/readyz until it answers 200.
func waitReady(ctx context.Context, base string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	var last error
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/readyz", nil)
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("readyz: %s", res.Status)
		}
		last = err
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("%w after %s: %v", errTimeout, limit, last)
}

func randomSecret() []byte {
	b := make([]byte, 32)
	rand.Read(b)
	return []byte(hex.EncodeToString(b))
}
