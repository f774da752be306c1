// Command load drives a Parley server over real HTTP and WebSocket and
// prints a report of figures, each beside a baseline measured in the same
// run (docs/PERFORMANCE.md):
//
//	go run ./server/load -database-url postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable
//
// By default it starts the server in-process on a fresh schema of that
// database (so it can profile it with -cpuprofile and trace its SQL), creates
// its own users through the API and drops the schema at the end. With -url
// it drives a server that is already running instead; -database-url must
// then be the database that server uses (pgbench and seeding need it).
// The idle-connections scenario always measures a server in its own process:
// it builds ./server and runs it, unless -url and -pid name one.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// options are the command's flags.
type options struct {
	url, databaseURL string
	pid              int
	scenarios        string
	keep             bool
	cpuProfile       string
	serverBin        string

	duration       time.Duration
	senders        int
	rates          []int
	pairs          int
	groupSize      int
	rounds         int
	conns          int
	idleUsers      int
	readers        int
	pgbench        string
	postgraph      string
	pgWorkers      int
	benchDir       string
	repeat         int
	warmup         time.Duration
	historyLen     int
	searchMessages int
	verbose        bool
	// instances are the instance counts the instance-aware scenarios
	// (send, latency, fanout) run with, each in turn: 1 is one in-process
	// server, 2 two of them on the same schema with their clients split
	// across both.
	instances []int
	busURL    string // the instances' bus: empty is PostgreSQL's LISTEN/NOTIFY
}

// env is what scenarios share: the server under test and its database.
type env struct {
	opt    options
	db     *schemaDB  // nil with -url
	dbURL  string     // the server's database
	base   string     // the server's base URL
	proc   *inProcess // nil with -url
	trace  *sqlTrace  // in-process only
	report *report
	// procs are the instances of the current run, procs[0] being proc
	// (instance A); a second one (B) serves the same schema with the same
	// JWT secret, so a token from one is good on the other.
	procs []*inProcess
	// count is the instance count of the current run (1 or 2).
	count int
	// scriptChecked: the send scenario checked its pgbench script against a
	// traced send in an earlier run (with another instance count).
	scriptChecked bool
}

func main() {
	var o options
	flag.StringVar(&o.url, "url", "", "base URL of a running server (http://host:port); empty starts one in-process")
	flag.StringVar(&o.databaseURL, "database-url", envOr("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"),
		"PostgreSQL URL: without -url a fresh schema is made in this database; with -url, the server's own database")
	flag.IntVar(&o.pid, "pid", 0, "with -url: the server's process id, for the idle scenario's RSS")
	flag.StringVar(&o.scenarios, "scenarios", "send,latency,fanout,history,idle", "comma-separated: send, latency, fanout, history, idle, search, trace")
	flag.BoolVar(&o.keep, "keep", false, "keep the scratch schema")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the in-process server (and this tool) to this file")
	flag.StringVar(&o.serverBin, "server-bin", "", "server binary for the idle scenario; empty builds ./server")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "length of each timed run")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured warm-up before each timed run")
	flag.IntVar(&o.senders, "senders", 16, "send: concurrent senders (and pgbench clients)")
	rates := flag.String("rate", "500,50", "latency: messages per second, a comma-separated list (the goal's rate, and one this machine sustains)")
	flag.IntVar(&o.pairs, "pairs", 50, "latency: sender/receiver pairs")
	flag.IntVar(&o.groupSize, "group-size", 1000, "fanout: members, all subscribed")
	flag.IntVar(&o.rounds, "rounds", 30, "fanout: messages sent, one at a time")
	flag.IntVar(&o.conns, "conns", 10000, "idle: subscriptions")
	flag.IntVar(&o.idleUsers, "idle-users", 0, "idle: distinct users (0: one per connection)")
	flag.IntVar(&o.readers, "readers", 8, "history: concurrent readers (and pgbench clients)")
	flag.IntVar(&o.historyLen, "history-len", 200, "history: messages in the conversation read")
	flag.IntVar(&o.searchMessages, "search-messages", 1000000, "search: messages seeded (by SQL) before searching")
	flag.StringVar(&o.pgbench, "pgbench", findPgbench(), "pgbench binary")
	flag.StringVar(&o.postgraph, "postgraphile", "bench/postgraphile", "folder with the pinned PostGraphile 4 (npm ci is run there if needed); empty skips it")
	flag.IntVar(&o.pgWorkers, "postgraphile-workers", 2, "history: PostGraphile cluster workers (2 matches Parley's use of both cores)")
	flag.StringVar(&o.benchDir, "bench-dir", "bench/pgbench", "folder with the pgbench scripts")
	flag.IntVar(&o.repeat, "repeat", 1, "send and history: run each side this many times, alternating, and keep the best")
	flag.BoolVar(&o.verbose, "v", false, "print each round of the fanout scenario")
	instances := flag.String("instances", "1", "send, latency, fanout: in-process instances on the same schema, a comma-separated list (1,2 runs each of them with one instance, then with two)")
	flag.StringVar(&o.busURL, "bus-url", "", "the in-process instances' bus: empty is PostgreSQL's LISTEN/NOTIFY, nats://127.0.0.1:4222 NATS")
	wsFloor := flag.String("ws-floor", "", "internal: serve the bare WebSocket server of the idle scenario on this address")
	flag.Parse()
	for _, r := range strings.Split(*rates, ",") {
		if v, err := strconv.Atoi(strings.TrimSpace(r)); err == nil && v > 0 {
			o.rates = append(o.rates, v)
		}
	}
	for _, r := range strings.Split(*instances, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(r))
		if err != nil || v < 1 || v > 2 {
			fmt.Fprintf(os.Stderr, "load: -instances %q: a comma-separated list of 1 and 2\n", *instances)
			os.Exit(2)
		}
		o.instances = append(o.instances, v)
	}
	if o.url != "" && (slices.Max(o.instances) > 1 || o.busURL != "") {
		fmt.Fprintln(os.Stderr, "load: -instances 2 and -bus-url need the in-process server (no -url)")
		os.Exit(2)
	}
	if *wsFloor != "" {
		raiseFileLimit()
		if err := runFloor(*wsFloor); err != nil {
			fmt.Fprintln(os.Stderr, "load:", err)
			os.Exit(1)
		}
		return
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	raiseFileLimit()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	e := &env{opt: o, report: newReport()}
	if root, err := moduleRoot(); err == nil {
		if err := os.Chdir(root); err != nil {
			return err
		}
	}
	if o.url == "" {
		db, err := newSchema(ctx, o.databaseURL, o.keep)
		if err != nil {
			return err
		}
		defer db.Close()
		e.db, e.dbURL = db, db.url
		e.trace = &sqlTrace{}
		p, err := startInProcess(ctx, db.url, randomSecret(), e.trace, o.busURL)
		if err != nil {
			return err
		}
		defer p.Close()
		e.proc, e.base, e.procs = p, p.base, []*inProcess{p}
		fmt.Fprintf(os.Stderr, "in-process server at %s on schema %s, bus %s\n", p.base, db.name, e.busName())
	} else {
		e.base, e.dbURL = strings.TrimRight(o.url, "/"), o.databaseURL
	}
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	fmt.Fprintf(os.Stderr, "load average at start: %s\n", loadAvg())
	for _, name := range strings.Split(o.scenarios, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		counts := o.instances
		if !instanceAware[name] {
			if !slices.Contains(o.instances, 1) {
				e.report.note("%s: runs with one instance only (add 1 to -instances)", name)
				continue
			}
			counts = []int{1}
		}
		for _, count := range counts {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err := e.runWith(ctx, name, count); err != nil {
				return err
			}
		}
	}
	e.report.compareInstances(e.busName())
	e.report.print(os.Stdout)
	if e.report.failedAny() {
		return fmt.Errorf("some scenarios failed")
	}
	return nil
}

// instanceAware are the scenarios that run once for each -instances
// count, one count right after the other so that their figures share the
// same minutes; the others run with one instance only.
var instanceAware = map[string]bool{"send": true, "latency": true, "fanout": true}

// runWith runs one scenario with count instances: with two it starts
// instance B on A's schema with A's secret for the scenario and stops it
// after, so that no idle second instance weighs on the other runs.
func (e *env) runWith(ctx context.Context, name string, count int) error {
	e.count = count
	defer e.stopSecond()
	if err := e.startSecond(ctx); err != nil {
		return err
	}
	label := name + e.label()
	start := time.Now()
	fmt.Fprintf(os.Stderr, "== %s\n", label)
	var err error
	switch name {
	case "trace":
		err = traceScenario(ctx, e, os.Stdout)
	case "send":
		err = sendScenario(ctx, e)
	case "latency":
		err = latencyScenario(ctx, e)
	case "fanout":
		err = fanoutScenario(ctx, e)
	case "history":
		err = historyScenario(ctx, e)
	case "idle":
		err = idleScenario(ctx, e)
	case "search":
		err = searchScenario(ctx, e)
	default:
		err = fmt.Errorf("unknown scenario %q", name)
	}
	if err != nil {
		e.report.fail(label, err)
		fmt.Fprintf(os.Stderr, "%s failed: %v\n", label, err)
		if strings.Contains(err.Error(), "too many clients") {
			e.report.note("%s: PostgreSQL ran out of connections: each instance's pool keeps up to 40 open and idle (internal/platform/database), so two of them and a baseline's clients can pass max_connections (SHOW max_connections)", label)
		}
	}
	fmt.Fprintf(os.Stderr, "   %s took %s (load average now %s)\n", label, time.Since(start).Round(time.Millisecond), loadAvg())
	return nil
}

// startSecond starts instance B when the current run has two instances and
// B is not running.
func (e *env) startSecond(ctx context.Context) error {
	if e.count != 2 || len(e.procs) > 1 {
		return nil
	}
	b, err := startInProcess(ctx, e.dbURL, e.proc.secret, nil, e.opt.busURL)
	if err != nil {
		return fmt.Errorf("second instance: %w", err)
	}
	e.procs = append(e.procs[:1], b)
	fmt.Fprintf(os.Stderr, "second in-process server at %s on the same schema\n", b.base)
	return nil
}

// stopSecond stops instance B if it runs. The latency scenario stops it
// before its pgbench baseline: each instance's pool keeps up to 40
// connections idle for a minute, and two full pools beside the baseline's
// 32 clients pass a default PostgreSQL's max_connections (100). Without B
// the baseline runs as it does in the one-instance run.
func (e *env) stopSecond() {
	if len(e.procs) > 1 {
		e.procs[1].Close()
		e.procs = e.procs[:1]
	}
}

// twoInstances reports whether instances A and B both run now.
func (e *env) twoInstances() bool { return len(e.procs) > 1 }

// instanceCount is the instance count of the current run: 2 also after the
// latency scenario stopped B for its baseline.
func (e *env) instanceCount() int {
	if e.count == 2 {
		return 2
	}
	return 1
}

// baseOf is the instance the i-th client of a split talks to: A for even
// i, B for odd i with two instances, else the one server.
func (e *env) baseOf(i int) string {
	if e.twoInstances() {
		return e.procs[i%2].base
	}
	return e.base
}

// far is the instance receivers use in the latency scenario: B with two
// instances, so that every delivery crosses the bus.
func (e *env) far() string { return e.baseOf(1) }

func (e *env) busName() string {
	if e.opt.busURL != "" {
		return "nats"
	}
	return "pg"
}

// label is what the figures of the current run add: nothing in the
// default run (one instance, PostgreSQL's bus), else the instances and the
// bus, e.g. " (2 instances, bus nats)".
func (e *env) label() string {
	if e.opt.busURL == "" && !slices.ContainsFunc(e.opt.instances, func(n int) bool { return n != 1 }) {
		return ""
	}
	if e.instanceCount() == 2 {
		return fmt.Sprintf(" (2 instances, bus %s)", e.busName())
	}
	return fmt.Sprintf(" (1 instance, bus %s)", e.busName())
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// raiseFileLimit lifts the open-file limit as far as allowed: 10,000
// WebSocket connections need as many descriptors on each side, and a
// spawned server inherits the limit.
func raiseFileLimit() {
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) != nil {
		return
	}
	want := l
	want.Cur, want.Max = max(l.Max, 65536), max(l.Max, 65536)
	if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want) == nil {
		return
	}
	l.Cur = l.Max
	syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
}
