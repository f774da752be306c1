package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// idleScenario: -conns authenticated connections, each with the events
// subscription, held open on a server running in its own process; the
// figure is the growth of that process's resident memory per connection.
// The baseline is the floor of any Go WebSocket server: this tool run as a
// bare gorilla/websocket server (one goroutine and the default buffers per
// connection, answering the same handshake) holding as many connections,
// measured the same way in the same run.
func idleScenario(ctx context.Context, e *env) error {
	n := e.opt.conns
	var base, pprofBase string
	var pid int
	if e.opt.url != "" {
		if e.opt.pid == 0 {
			return fmt.Errorf("idle with -url needs -pid, the server's process id, to read its memory")
		}
		base, pid = e.base, e.opt.pid
	} else {
		bin := e.opt.serverBin
		if bin == "" {
			dir, err := os.MkdirTemp("", "parley-bin-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			if bin, err = buildServer(ctx, dir); err != nil {
				return err
			}
		}
		pp, err := freeAddr()
		if err != nil {
			return err
		}
		sp, err := spawn(ctx, bin, e.dbURL, e.proc.secret, "PARLEY_PPROF_ADDR="+pp)
		if err != nil {
			return err
		}
		defer sp.Close()
		base, pid, pprofBase = sp.base, sp.cmd.Process.Pid, "http://"+pp
	}
	// Users are registered through the in-process server when there is one:
	// it hashes with the cheapest bcrypt, while the spawned server runs the
	// default cost (about 50 ms of CPU per account here).
	regBase := base
	if e.proc != nil {
		regBase = e.proc.base
	}
	reg := newAPI(regBase, 16)
	nu := e.opt.idleUsers
	if nu <= 0 || nu > n {
		nu = n
	}
	t0 := time.Now()
	users, err := reg.registerMany(ctx, "idle", nu, 8)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "   registered %d users in %s\n", nu, time.Since(t0).Round(time.Millisecond))

	parley, err := holdConnections(ctx, base, pid, pprofBase, users, n, true)
	if err != nil {
		return fmt.Errorf("parley: %w", err)
	}
	if err := checkLive(ctx, base, reg, users, parley); err != nil {
		parley.close()
		return err
	}
	parley.close()

	floor, err := startFloor(ctx)
	if err != nil {
		return err
	}
	defer floor.stop()
	bare, err := holdConnections(ctx, floor.base, floor.pid, "", users, n, false)
	if err != nil {
		return fmt.Errorf("bare gorilla server: %w", err)
	}
	bare.close()

	per, floorPer := parley.perConn(), bare.perConn()
	e.report.add(row{
		scenario: "idle", figure: fmt.Sprintf("RSS per idle subscription, %d connections, %d users", n, nu),
		value:    fmt.Sprintf("%.1f KB (RSS %.0f → %.0f MB)", per/1024, float64(parley.rss0)/(1<<20), float64(parley.rss1)/(1<<20)),
		baseline: fmt.Sprintf("bare gorilla/websocket server: %.1f KB", floorPer/1024),
		ratio:    floorPer / per, ratioOf: "bare/parley",
		goal: "≤ 30 KB", met: boolp(per <= 30*1024 && n >= 10000),
	})
	if parley.heap1 > 0 {
		k := float64(n - parley.warm)
		e.report.note("idle: per connection, the server's Go heap in use after a forced GC grew %.1f KB, its goroutine stacks %.1f KB, and it ran %.1f more goroutines (pprof; heap profile saved to %s)",
			float64(parley.heap1-parley.heap0)/k/1024, float64(parley.stack1-parley.stack0)/k/1024, float64(parley.goroutines1-parley.goroutines0)/k, heapProfilePath)
	}
	e.report.note("idle: Parley held %d connections, none closed while idle, and a message sent to every %d-th user arrived; connecting took %s", n, max(1, nu/50), parley.connectTime.Round(time.Millisecond))
	return nil
}

// held is a set of open connections to one server process.
type held struct {
	subs       []*subscriber
	warm       int
	rss0, rss1 int64
	// From the server's pprof, when it has one: the heap in use after a
	// forced collection, and the goroutines.
	heap0, heap1             int64
	stack0, stack1           int64
	goroutines0, goroutines1 int
	connectTime              time.Duration
	mu                       sync.Mutex
	got                      map[string]bool // texts received, for checkLive
}

// perConn is the resident memory the server grew by per connection past the
// warm-up connections.
func (h *held) perConn() float64 {
	return float64(h.rss1-h.rss0) / float64(len(h.subs)-h.warm)
}

func (h *held) close() {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 256)
	for _, s := range h.subs {
		if s == nil {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			s.conn.Close()
			<-s.done
			<-sem
		}()
	}
	wg.Wait()
}

// holdConnections opens n connections to base (user i%len(users) on
// connection i) from several loopback source addresses, and reads pid's
// resident memory after a warm-up tenth and after all n.
func holdConnections(ctx context.Context, base string, pid int, pprofBase string, users []user, n int, record bool) (*held, error) {
	h := &held{subs: make([]*subscriber, n), warm: max(1, min(500, n/10)), got: map[string]bool{}}
	onEvent := func(ev event) {
		if record && ev.Node != nil {
			h.mu.Lock()
			h.got[ev.Node.Text] = true
			h.mu.Unlock()
		}
	}
	dialers := make([]*websocket.Dialer, 8)
	for i := range dialers {
		dialers[i] = wsDialer(&net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i))})
	}
	open := func(from, to int) error {
		var wg sync.WaitGroup
		var firstErr atomic.Value
		sem := make(chan struct{}, 32)
		for i := from; i < to; i++ {
			if firstErr.Load() != nil || ctx.Err() != nil {
				break
			}
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				var err error
				for try := 0; try < 3; try++ {
					var s *subscriber
					s, err = subscribe(ctx, dialers[i%len(dialers)], base, users[i%len(users)].Token, eventsSubscription, onEvent)
					if err == nil {
						h.subs[i] = s
						return
					}
					time.Sleep(100 * time.Millisecond)
				}
				firstErr.CompareAndSwap(nil, fmt.Errorf("connection %d: %w", i, err))
			}()
		}
		wg.Wait()
		if err, _ := firstErr.Load().(error); err != nil {
			return err
		}
		return ctx.Err()
	}
	start := time.Now()
	if err := open(0, h.warm); err != nil {
		h.close()
		return nil, err
	}
	var err error
	h.heap0, h.stack0, h.goroutines0 = collect(ctx, pprofBase)
	if h.rss0, err = settledRSS(pid); err != nil {
		h.close()
		return nil, err
	}
	if err := open(h.warm, n); err != nil {
		h.close()
		return nil, err
	}
	h.connectTime = time.Since(start)
	h.heap1, h.stack1, h.goroutines1 = collect(ctx, pprofBase)
	if pprofBase != "" {
		saveProfile(ctx, pprofBase+"/debug/pprof/heap", heapProfilePath)
	}
	if h.rss1, err = settledRSS(pid); err != nil {
		h.close()
		return nil, err
	}
	for i, s := range h.subs {
		select {
		case <-s.done:
			h.close()
			return nil, fmt.Errorf("connection %d closed while idle: %v", i, s.err)
		default:
		}
	}
	return h, nil
}

// checkLive sends a direct message to a sample of the idle users and checks
// that every one arrives: the subscriptions are live, not merely open.
func checkLive(ctx context.Context, base string, reg *api, users []user, h *held) error {
	sender, err := reg.register(ctx, "idle_sender")
	if err != nil {
		return err
	}
	cli := newAPI(base, 4)
	step := max(1, len(users)/50)
	var texts []string
	for i := 0; i < len(users); i += step {
		text := fmt.Sprintf("idle-check-%d", i)
		if _, err := cli.sendMessage(ctx, sender, users[i].ID, text, ""); err != nil {
			return fmt.Errorf("idle check: %w", err)
		}
		texts = append(texts, text)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		h.mu.Lock()
		missing := 0
		for _, t := range texts {
			if !h.got[t] {
				missing++
			}
		}
		h.mu.Unlock()
		if missing == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("idle check: %d of %d sampled users did not receive their message", missing, len(texts))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// rss reads VmRSS of pid in bytes.
func rss(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			kb, err := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS for %d", pid)
}

// settledRSS waits until pid's RSS stops moving (two readings a second
// apart within 0.5%, at most 15 s) and returns it.
func settledRSS(pid int) (int64, error) {
	time.Sleep(time.Second)
	prev, err := rss(pid)
	if err != nil {
		return 0, err
	}
	for i := 0; i < 15; i++ {
		time.Sleep(time.Second)
		cur, err := rss(pid)
		if err != nil {
			return 0, err
		}
		if d := cur - prev; d < 0 && -d < prev/200 || d >= 0 && d < prev/200 {
			return cur, nil
		}
		prev = cur
	}
	return prev, nil
}

// floor is this program run as a bare WebSocket server (-ws-floor).
type floor struct {
	base string
	pid  int
	cmd  *exec.Cmd
}

func startFloor(ctx context.Context) (*floor, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "-ws-floor", "127.0.0.1:0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("bare server: %w", err)
	}
	return &floor{base: "http://" + strings.TrimSpace(line), pid: cmd.Process.Pid, cmd: cmd}, nil
}

func (f *floor) stop() {
	f.cmd.Process.Kill()
	f.cmd.Wait()
}

// runFloor serves the bare WebSocket server: it upgrades /query with
// gorilla's defaults (net/http's 4 KB buffers reused, the handler's
// goroutine reading; Parley's wsgorilla has its own, smaller, choices),
// acknowledges connection_init, answers pings and otherwise reads, one
// goroutine per connection.
func runFloor(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Println(ln.Addr().String())
	up := websocket.Upgrader{Subprotocols: []string{"graphql-transport-ws"}}
	return http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			_, raw, err := c.ReadMessage()
			if err != nil {
				return
			}
			var m struct{ Type string }
			json.Unmarshal(raw, &m)
			switch m.Type {
			case "connection_init":
				c.WriteMessage(websocket.TextMessage, []byte(`{"type":"connection_ack"}`))
			case "ping":
				c.WriteMessage(websocket.TextMessage, []byte(`{"type":"pong"}`))
			}
		}
	}))
}

// heapProfilePath is where the idle scenario keeps the server's heap
// profile with all connections open (go tool pprof -sample_index=inuse_space).
var heapProfilePath = filepath.Join(os.TempDir(), "parley-idle-heap.pprof")

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// collect forces a collection in the server through pprof's heap endpoint
// (gc=1) and returns the heap in use and the goroutine count; zeros without
// pprof.
func collect(ctx context.Context, base string) (heap, stack int64, goroutines int) {
	if base == "" {
		return 0, 0, 0
	}
	get := func(path string) string {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+path, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return ""
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b)
	}
	for _, line := range strings.Split(get("/debug/pprof/heap?gc=1&debug=1"), "\n") {
		if v, ok := strings.CutPrefix(line, "# HeapInuse = "); ok {
			heap, _ = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
		if v, ok := strings.CutPrefix(line, "# Stack = "); ok { // "inuse / sys"
			stack, _ = strconv.ParseInt(strings.Fields(v)[0], 10, 64)
		}
	}
	first := strings.SplitN(get("/debug/pprof/goroutine?debug=1"), "\n", 2)[0]
	if v, ok := strings.CutPrefix(first, "goroutine profile: total "); ok {
		goroutines, _ = strconv.Atoi(strings.TrimSpace(v))
	}
	return heap, stack, goroutines
}

func saveProfile(ctx context.Context, url, file string) {
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return
	}
	defer res.Body.Close()
	f, err := os.Create(file)
	if err != nil {
		return
	}
	defer f.Close()
	io.Copy(f, res.Body)
}
