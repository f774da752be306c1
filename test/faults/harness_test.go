package faults_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	_ "github.com/lib/pq"

	"github.com/parley-im/parley/server/apptest"
)

// jwtSecret is shared by every instance a test runs, as in production.
const jwtSecret = "fault-test-secret-fault-test-secret!!"

var (
	buildOnce sync.Once
	buildBin  string
	buildErr  error
	buildDir  string
	buildTook time.Duration
)

// TestMain removes the server binary built for the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// serverBinary builds ./server once for the package (the real binary, the
// way it is deployed, so that it can be killed with SIGKILL).
func serverBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "parley-faults-")
		if buildErr != nil {
			return
		}
		buildBin = filepath.Join(buildDir, "parley")
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..")
		started := time.Now()
		defer func() { buildTook = time.Since(started) }()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "build", "-o", buildBin, "./server")
		cmd.Dir = root
		var out []byte
		if out, buildErr = cmd.CombinedOutput(); buildErr != nil {
			buildErr = fmt.Errorf("go build ./server: %v\n%s", buildErr, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildBin
}

// freeAddr returns a loopback address with a free port.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// instance is one server process.
type instance struct {
	t       *testing.T
	name    string
	addr    string
	base    string
	env     []string
	cmd     *exec.Cmd
	log     *bytes.Buffer
	logMu   *sync.Mutex
	waitErr chan error
}

// startInstance runs the server binary on dbURL ("" for SQLite in
// dataDir) at addr.
func startInstance(t *testing.T, name, addr, dbURL, dataDir string) *instance {
	t.Helper()
	in := &instance{t: t, name: name, addr: addr, base: "http://" + addr, log: &bytes.Buffer{}, logMu: &sync.Mutex{}}
	serverBinary(t)
	t.Logf("%s: server binary built in %s (once for the package)", name, buildTook.Round(time.Millisecond))
	in.env = append(os.Environ(),
		"DATABASE_URL="+dbURL, "PARLEY_JWT_SECRET="+jwtSecret,
		"PARLEY_DATA_DIR="+dataDir, "PARLEY_UPLOAD_DIR="+filepath.Join(dataDir, "uploads"),
		// The senders write as fast as they can, from one address.
		"PARLEY_REGISTRATIONS_PER_HOUR=0", "PARLEY_MESSAGES_PER_MINUTE=0")
	in.start()
	t.Cleanup(in.stop)
	return in
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// start runs the process and waits until /readyz answers 200.
func (in *instance) start() {
	t := in.t
	t.Helper()
	in.cmd = exec.Command(serverBinary(t), "-addr", in.addr)
	in.cmd.Env = in.env
	w := lockedWriter{in.logMu, in.log}
	in.cmd.Stdout, in.cmd.Stderr = w, w
	if err := in.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	in.waitErr = make(chan error, 1)
	go func(c *exec.Cmd, ch chan error) { ch <- c.Wait() }(in.cmd, in.waitErr)
	deadline := time.Now().Add(60 * time.Second)
	for {
		if code, _ := in.readyz(); code == http.StatusOK {
			return
		}
		select {
		case err := <-in.waitErr:
			t.Fatalf("%s exited while starting: %v\n%s", in.name, err, in.logs())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready after 60 s\n%s", in.name, in.logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (in *instance) logs() string {
	in.logMu.Lock()
	defer in.logMu.Unlock()
	return in.log.String()
}

// kill9 ends the process with SIGKILL, as a crash or the OOM killer would.
func (in *instance) kill9() {
	in.cmd.Process.Signal(syscall.SIGKILL)
	<-in.waitErr
	in.cmd = nil
}

// stop ends the process gracefully (SIGTERM), then by force.
func (in *instance) stop() {
	if in.cmd == nil {
		return
	}
	in.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-in.waitErr:
	case <-time.After(25 * time.Second):
		in.cmd.Process.Kill()
		<-in.waitErr
	}
	in.cmd = nil
}

func (in *instance) readyz() (int, string) {
	c := http.Client{Timeout: 2 * time.Second}
	res, err := c.Get(in.base + "/readyz")
	if err != nil {
		return 0, err.Error()
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, strings.TrimSpace(string(b))
}

// --- PostgreSQL cluster of a test's own -------------------------------------

// pgCluster is a PostgreSQL server a test owns, so that it may stop and
// start it without disturbing the shared one other packages test on.
type pgCluster struct {
	t      *testing.T
	bin    string // folder of initdb, pg_ctl
	dir    string // data and socket directory
	port   int
	asUser string // run the binaries as this user (root may not run them)
}

// pgBinDir finds initdb and pg_ctl: on PATH, or in Debian's versioned
// folders. Without them the test fails when TEST_DATABASE_URL is set (CI
// provides PostgreSQL) and is skipped otherwise.
func pgBinDir(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("initdb"); err == nil {
		if _, err := exec.LookPath("pg_ctl"); err == nil {
			return filepath.Dir(p)
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgVersion(dirs[i]) > pgVersion(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d
		}
	}
	msg := "PostgreSQL's server binaries (initdb, pg_ctl) are not installed: this test restarts a private cluster. " +
		"Install the postgresql package (Debian: /usr/lib/postgresql/<version>/bin)"
	if os.Getenv("TEST_DATABASE_URL") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg + "; skipped because TEST_DATABASE_URL is not set")
	return ""
}

func pgVersion(dir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return v
}

// newCluster initialises a cluster in a fresh directory and starts it on a
// free port. As root, the binaries run as the postgres user (PostgreSQL
// refuses to run as root).
func newCluster(t *testing.T) *pgCluster {
	t.Helper()
	c := &pgCluster{t: t, bin: pgBinDir(t)}
	dir, err := os.MkdirTemp("", "parley-pg-")
	if err != nil {
		t.Fatal(err)
	}
	c.dir = dir
	t.Cleanup(func() {
		c.ctl("stop", "-m", "immediate")
		os.RemoveAll(dir)
	})
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatal("running as root, this test needs a postgres user to run PostgreSQL as (PostgreSQL refuses root): ", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		if _, err := exec.LookPath("runuser"); err != nil {
			t.Fatal("running as root, this test runs PostgreSQL as the postgres user with runuser (util-linux), which is missing: ", err)
		}
		c.asUser = "postgres"
	}
	_, portStr, _ := net.SplitHostPort(freeAddr(t))
	c.port, _ = strconv.Atoi(portStr)
	if out, err := c.run("initdb", "-D", filepath.Join(dir, "data"), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	c.start()
	return c
}

// run runs one of the cluster's binaries, as the postgres user when root.
func (c *pgCluster) run(name string, args ...string) ([]byte, error) {
	bin := filepath.Join(c.bin, name)
	var cmd *exec.Cmd
	if c.asUser != "" {
		cmd = exec.Command("runuser", append([]string{"-u", c.asUser, "--", bin}, args...)...)
	} else {
		cmd = exec.Command(bin, args...)
	}
	cmd.Dir = c.dir
	return cmd.CombinedOutput()
}

func (c *pgCluster) ctl(action string, extra ...string) ([]byte, error) {
	args := append([]string{action, "-D", filepath.Join(c.dir, "data"), "-w", "-t", "60"}, extra...)
	return c.run("pg_ctl", args...)
}

// start starts the cluster (fsync off: the test stops PostgreSQL, not the
// machine, so the operating system keeps what was written).
func (c *pgCluster) start() {
	c.t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=100", c.port, c.dir)
	if out, err := c.ctl("start", "-o", opts, "-l", filepath.Join(c.dir, "log")); err != nil {
		b, _ := os.ReadFile(filepath.Join(c.dir, "log"))
		c.t.Fatalf("pg_ctl start: %v\n%s\n%s", err, out, b)
	}
}

// stopImmediate stops the cluster the hard way: every backend is killed
// and the next start runs crash recovery.
func (c *pgCluster) stopImmediate() {
	c.t.Helper()
	if out, err := c.ctl("stop", "-m", "immediate"); err != nil {
		c.t.Fatalf("pg_ctl stop: %v\n%s", err, out)
	}
}

func (c *pgCluster) url() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable&connect_timeout=5", c.port)
}

// --- GraphQL over HTTP (the kit's client) -------------------------------------

var httpClient = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 32}}

// api is the GraphQL client of the instance at base.
func api(base string) *apptest.Client { return apptest.NewClient(base, httpClient) }

type account = apptest.Account

func register(t *testing.T, base, name string) account {
	t.Helper()
	a, err := api(base).Register(context.Background(), name, apptest.Password, nil)
	if err != nil {
		t.Fatalf("register %s: %v", name, err)
	}
	return a
}

// send sends text to a user with a client id (the idempotency key).
func send(base string, from account, to, text, clientID string) (apptest.Message, error) {
	return api(base).SendMessage(context.Background(), from, to, text, clientID)
}

// history reads a whole direct conversation as reader, by seq.
func history(t *testing.T, base string, reader account, peer string) []apptest.Message {
	t.Helper()
	var conv struct{ DirectConversation *struct{ ID string } }
	if err := api(base).Query(context.Background(), reader.Token, `query($u: ID!) { directConversation(userId: $u) { id } }`, map[string]any{"u": peer}, &conv); err != nil {
		t.Fatal(err)
	}
	if conv.DirectConversation == nil {
		t.Fatalf("%s has no conversation with %s", reader.Name, peer)
	}
	var all []apptest.Message
	var after *string
	for {
		var page struct {
			Messages apptest.Connection[apptest.Message]
		}
		vars := map[string]any{"c": conv.DirectConversation.ID, "after": after}
		if err := api(base).Query(context.Background(), reader.Token, `query($c: ID!, $after: Cursor) { messages(conversationId: $c, first: 100, after: $after) { edges { node { id seq text } } pageInfo { hasNextPage endCursor } } }`, vars, &page); err != nil {
			t.Fatal(err)
		}
		all = append(all, page.Messages.Nodes()...)
		if !page.Messages.PageInfo.HasNextPage {
			return all
		}
		after = page.Messages.PageInfo.EndCursor
	}
}

// --- load: senders that retry until acknowledged ---------------------------

// sender sends messages to one peer in a loop, each with its own client
// id; a failed send is retried with the same client id until it succeeds
// (the server may have stored it before failing), so every message ends up
// acknowledged exactly once.
type sender struct {
	from account
	to   string
	tag  string
	base func() string // the instance to send to, which may change

	mu       sync.Mutex
	acked    map[string]apptest.Message // client id -> what the server answered
	order    []string
	failures int // failed attempts (retried)
}

func newSender(from account, to, tag string, base func() string) *sender {
	return &sender{from: from, to: to, tag: tag, base: base, acked: map[string]apptest.Message{}}
}

// run sends until stop is closed, then returns once its last message is
// acknowledged (or giveUp passes).
func (s *sender) run(stop <-chan struct{}, giveUp time.Duration) error {
	for k := 0; ; k++ {
		select {
		case <-stop:
			return nil
		default:
		}
		cid := fmt.Sprintf("%s-%d", s.tag, k)
		deadline := time.Now().Add(giveUp)
		for {
			m, err := send(s.base(), s.from, s.to, cid, cid)
			if err == nil {
				s.mu.Lock()
				s.acked[cid] = m
				s.order = append(s.order, cid)
				s.mu.Unlock()
				break
			}
			s.mu.Lock()
			s.failures++
			s.mu.Unlock()
			if time.Now().After(deadline) {
				return fmt.Errorf("%s: no acknowledgement in %s: %v", cid, giveUp, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// runAll runs every sender until stop is closed; the function it returns
// waits for them all and returns the first error.
func runAll(senders []*sender, stop <-chan struct{}, giveUp time.Duration) (wait func() error) {
	errs := make(chan error, len(senders))
	for _, s := range senders {
		go func() { errs <- s.run(stop, giveUp) }()
	}
	return func() error {
		var first error
		for range senders {
			if err := <-errs; err != nil && first == nil {
				first = err
			}
		}
		return first
	}
}

func (s *sender) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.order)
}

// checkHistory verifies a conversation's history against what senders were
// told: every acknowledged message is there exactly once, with the id and
// seq the sender got, and seqs run 1..n without a gap or a repeat.
func checkHistory(t *testing.T, msgs []apptest.Message, senders ...*sender) {
	t.Helper()
	byText := map[string][]apptest.Message{}
	for i, m := range msgs {
		if m.Seq != i+1 {
			t.Errorf("history seq %d at position %d: numbering has a gap or a repeat", m.Seq, i+1)
		}
		byText[m.Text] = append(byText[m.Text], m)
	}
	for text, ms := range byText {
		if len(ms) > 1 {
			t.Errorf("message %q is stored %d times", text, len(ms))
		}
	}
	for _, s := range senders {
		s.mu.Lock()
		for cid, a := range s.acked {
			ms := byText[cid]
			if len(ms) == 0 {
				t.Errorf("acknowledged message %s (id %s, seq %d) is missing", cid, a.ID, a.Seq)
				continue
			}
			if ms[0].ID != a.ID || ms[0].Seq != a.Seq {
				t.Errorf("message %s: acknowledged as id %s seq %d, stored as id %s seq %d", cid, a.ID, a.Seq, ms[0].ID, ms[0].Seq)
			}
		}
		s.mu.Unlock()
	}
}

// --- subscriptions ------------------------------------------------------------

// watcher keeps an events subscription of one user open on an instance,
// resubscribing from its last cursor whenever the connection or the stream
// ends (a crash, a shutdown, a completed stream), as a client should. It
// records every message.created it receives, in order.
type watcher struct {
	t     *testing.T
	who   account
	base  func() string
	query string

	mu       sync.Mutex
	cursor   string
	messages []apptest.Message
	resumes  int // connections made after the first, from the last cursor
	sessions int
	closed   []string // why streams ended
	stop     chan struct{}
	done     chan struct{}
	conn     *websocket.Conn
}

func watch(t *testing.T, who account, base func() string) *watcher {
	w := &watcher{t: t, who: who, base: base, stop: make(chan struct{}), done: make(chan struct{})}
	go w.loop()
	t.Cleanup(w.close)
	return w
}

func (w *watcher) close() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	w.mu.Lock()
	if w.conn != nil {
		w.conn.Close()
	}
	w.mu.Unlock()
	<-w.done
}

func (w *watcher) loop() {
	defer close(w.done)
	for {
		select {
		case <-w.stop:
			return
		default:
		}
		w.session()
		time.Sleep(50 * time.Millisecond)
	}
}

// session runs one connection until it breaks.
func (w *watcher) session() {
	d := websocket.Dialer{Subprotocols: []string{apptest.TransportWS}, HandshakeTimeout: 3 * time.Second}
	conn, _, err := d.Dial(apptest.WebSocketURL(w.base()), nil)
	if err != nil {
		return
	}
	w.mu.Lock()
	w.conn = conn
	if w.sessions > 0 {
		w.resumes++
	}
	w.sessions++
	var after any
	if w.cursor != "" {
		after = w.cursor
	}
	w.mu.Unlock()
	defer conn.Close()
	if apptest.Init(conn, apptest.Bearer(w.who.Token)) != nil {
		return
	}
	if conn.WriteJSON(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": apptest.EventsSubscription, "variables": map[string]any{"after": after}}}) != nil {
		return
	}
	for {
		var m struct {
			Type    string
			Payload json.RawMessage
		}
		if err := conn.ReadJSON(&m); err != nil {
			w.note("read: " + err.Error())
			return
		}
		switch m.Type {
		case "ping":
			conn.WriteJSON(map[string]any{"type": "pong"})
		case "next":
			var p struct {
				Data   struct{ Events apptest.Event }
				Errors []apptest.Error
			}
			if json.Unmarshal(m.Payload, &p) != nil || len(p.Errors) > 0 {
				w.note(fmt.Sprintf("next with errors: %s", m.Payload))
				return
			}
			ev := p.Data.Events
			w.mu.Lock()
			if ev.Cursor != "" && ev.Cursor != "0" {
				w.cursor = ev.Cursor
			}
			if ev.Kind == "MESSAGE_CREATED" && ev.Node != nil {
				w.messages = append(w.messages, *ev.Node)
			}
			w.mu.Unlock()
			if ev.Kind == "STREAM_CLOSED" {
				w.note("stream.closed " + fmt.Sprint(deref(ev.Reason)))
				return
			}
		case "error", "complete":
			w.note(m.Type + " " + string(m.Payload))
			return
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func (w *watcher) note(why string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = append(w.closed, why)
}

// received returns the messages received so far.
func (w *watcher) received() []apptest.Message {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]apptest.Message(nil), w.messages...)
}

// waitFor waits until the watcher has received a message with text.
func (w *watcher) waitFor(text string, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		for _, m := range w.received() {
			if m.Text == text {
				return true
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

// goLive sends probes from -> to until the watcher receives one, since a
// live subscription cannot tell when the server registered it. It returns
// the seq of the probe received: everything after it must be delivered.
func goLive(t *testing.T, w *watcher, base string, from account, tag string) int {
	t.Helper()
	for i := 0; i < 100; i++ {
		text := fmt.Sprintf("%s-probe-%d", tag, i)
		if _, err := send(base, from, w.who.ID, text, text); err != nil {
			t.Fatalf("probe: %v", err)
		}
		if w.waitFor(text, 300*time.Millisecond) {
			for _, m := range w.received() {
				if m.Text == text {
					return m.Seq
				}
			}
		}
	}
	t.Fatal("the subscription never went live")
	return 0
}

// checkDelivered verifies that a watcher received every message of the
// history from seq `from` on exactly once, in order: no gap and no duplicate
// across crashes, restarts and resumes.
func checkDelivered(t *testing.T, w *watcher, hist []apptest.Message, from int) {
	t.Helper()
	var want []apptest.Message
	for _, m := range hist {
		if m.Seq >= from {
			want = append(want, m)
		}
	}
	got := w.received()
	seen := map[string]int{}
	var inConv []apptest.Message
	ids := map[string]bool{}
	for _, m := range want {
		ids[m.ID] = true
	}
	for _, m := range got {
		if ids[m.ID] {
			seen[m.ID]++
			inConv = append(inConv, m)
		}
	}
	for id, n := range seen {
		if n > 1 {
			t.Errorf("%s received message %s %d times", w.who.Name, id, n)
		}
	}
	for _, m := range want {
		if seen[m.ID] == 0 {
			t.Errorf("%s never received message seq %d (%s): a gap", w.who.Name, m.Seq, m.Text)
		}
	}
	for i := 1; i < len(inConv); i++ {
		if inConv[i].Seq < inConv[i-1].Seq {
			t.Errorf("%s received seq %d after seq %d", w.who.Name, inConv[i].Seq, inConv[i-1].Seq)
			break
		}
	}
}

// waitDelivered waits until w has the last message of hist.
func waitDelivered(t *testing.T, w *watcher, hist []apptest.Message, limit time.Duration) {
	t.Helper()
	if len(hist) == 0 {
		return
	}
	last := hist[len(hist)-1]
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		for _, m := range w.received() {
			if m.ID == last.ID {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	t.Errorf("%s did not receive the last message (seq %d) within %s; streams ended: %v", w.who.Name, last.Seq, limit, w.closed)
}

var errStopped = errors.New("stopped")
