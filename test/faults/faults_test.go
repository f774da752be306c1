// Package faults_test breaks a running Parley on purpose and checks what
// clients were promised. Each test runs the real server
// binary, built once by the package, as a separate process:
//
//   - TestKill9UnderWriteLoad: SIGKILL the server while senders write, start
//     it again: every acknowledged message is stored exactly once, and a
//     subscriber resuming from its last cursor misses nothing.
//   - TestPostgresRestartUnderLoad: stop and start PostgreSQL (a private
//     cluster, not the shared one) under load: /readyz goes red then green,
//     the LISTEN connection comes back, nothing acknowledged is lost.
//   - TestTwoInstancesUnderLoad: two instances on one database, senders and
//     subscribers on both: every message reaches the other instance's
//     subscribers exactly once, in order, and a retry on the other instance
//     is recognised.
//
// They need PostgreSQL (TEST_DATABASE_URL, or initdb for the restart test)
// except the SQLite run of the kill test.
package faults_test

import (
	"database/sql"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/platform/dbtest"
)

// TestKill9UnderWriteLoad: kill -9 under write load, restart, check.
func TestKill9UnderWriteLoad(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) { kill9(t, b.URL(t)) })
}

func kill9(t *testing.T, dbURL string) {
	start := time.Now()
	srv := startInstance(t, "parley", freeAddr(t), dbURL, t.TempDir())
	base := func() string { return srv.base }
	const pairs = 3
	var senders []*sender
	var watchers []*watcher
	var from []int
	for i := 0; i < pairs; i++ {
		a := register(t, srv.base, fmt.Sprintf("kill_a%d", i))
		b := register(t, srv.base, fmt.Sprintf("kill_b%d", i))
		if _, err := send(srv.base, a, b.ID, "open", "open"); err != nil {
			t.Fatal(err)
		}
		w := watch(t, b, base)
		from = append(from, goLive(t, w, srv.base, a, fmt.Sprintf("k%d", i)))
		senders = append(senders, newSender(a, b.ID, fmt.Sprintf("k%d", i), base))
		watchers = append(watchers, w)
	}

	stop := make(chan struct{})
	wait := runAll(senders, stop, 60*time.Second)
	waitCount(t, senders, 15, 20*time.Second) // under way
	srv.kill9()
	killedAt := time.Now()
	acked := 0
	for _, s := range senders {
		acked += s.count()
	}
	time.Sleep(300 * time.Millisecond) // senders fail and retry meanwhile
	srv.start()
	t.Logf("killed with %d messages acknowledged; back after %s", acked, time.Since(killedAt).Round(time.Millisecond))
	after := 0
	for _, s := range senders {
		after += s.count()
	}
	waitCount(t, senders, after/pairs+10, 20*time.Second) // writes resumed
	close(stop)
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	total, failures := 0, 0
	for i, s := range senders {
		hist := history(t, srv.base, s.from, s.to)
		checkHistory(t, hist, s)
		waitDelivered(t, watchers[i], hist, 15*time.Second)
		checkDelivered(t, watchers[i], hist, from[i])
		total += s.count()
		failures += s.failures
	}
	resumes := 0
	for _, w := range watchers {
		resumes += w.resumes
	}
	if resumes < pairs {
		t.Errorf("subscribers resumed %d times, want at least %d (one per crash)", resumes, pairs)
	}
	t.Logf("%d messages acknowledged (%d failed attempts retried with their client id), %d resumes; %s",
		total, failures, resumes, time.Since(start).Round(time.Millisecond))
}

// waitCount waits until every sender has at least n acknowledged messages.
func waitCount(t *testing.T, senders []*sender, n int, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		low := -1
		for _, s := range senders {
			if c := s.count(); low < 0 || c < low {
				low = c
			}
		}
		if low >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("senders stalled at %d acknowledged messages, want %d", low, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestPostgresRestartUnderLoad restarts PostgreSQL under the server while
// senders write and a subscriber listens.
func TestPostgresRestartUnderLoad(t *testing.T) {
	t.Parallel()
	start := time.Now()
	pg := newCluster(t)
	srv := startInstance(t, "parley", freeAddr(t), pg.url(), t.TempDir())
	base := func() string { return srv.base }
	a := register(t, srv.base, "pgr_a")
	b := register(t, srv.base, "pgr_b")
	if _, err := send(srv.base, a, b.ID, "open", "open"); err != nil {
		t.Fatal(err)
	}
	w := watch(t, b, base)
	from := goLive(t, w, srv.base, a, "pgr")

	// /readyz, every 20 ms, as a load balancer would poll it.
	var (
		mu     sync.Mutex
		states []string // transitions: "200", "503: ...", "down"
	)
	probeStop := make(chan struct{})
	probeDone := make(chan struct{})
	go func() {
		defer close(probeDone)
		last := ""
		for {
			select {
			case <-probeStop:
				return
			default:
			}
			code, body := srv.readyz()
			state := fmt.Sprint(code)
			if code != 200 {
				state += ": " + body
			}
			if state != last {
				mu.Lock()
				states = append(states, state)
				mu.Unlock()
				last = state
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()

	s := newSender(a, b.ID, "pgr", base)
	stop := make(chan struct{})
	wait := runAll([]*sender{s}, stop, 60*time.Second)
	waitCount(t, []*sender{s}, 15, 20*time.Second)

	pg.stopImmediate()
	downAt := time.Now()
	time.Sleep(time.Second) // a second without PostgreSQL
	pg.start()
	// Green again: the database answers and the LISTEN connection is back.
	for deadline := time.Now().Add(30 * time.Second); ; {
		if code, _ := srv.readyz(); code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz not green 30 s after PostgreSQL came back\n%s", srv.logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
	greenAfter := time.Since(downAt)
	listening := listeners(t, pg)
	n := s.count()
	waitCount(t, []*sender{s}, n+15, 20*time.Second)
	close(stop)
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	close(probeStop)
	<-probeDone

	mu.Lock()
	seen := append([]string(nil), states...)
	mu.Unlock()
	red := false
	for i, st := range seen {
		if strings.HasPrefix(st, "503") || st == "0" {
			red = true
		}
		if i == len(seen)-1 && st != "200" {
			t.Errorf("/readyz ended %q", st)
		}
	}
	if !red {
		t.Errorf("/readyz never went red while PostgreSQL was down: %v", seen)
	}
	if listening != 1 {
		t.Errorf("%d sessions LISTEN on parley_events after the restart, want 1", listening)
	}
	hist := history(t, srv.base, a, b.ID)
	checkHistory(t, hist, s)
	waitDelivered(t, w, hist, 15*time.Second)
	checkDelivered(t, w, hist, from)
	t.Logf("/readyz: %s; green %s after the stop; %d messages acknowledged (%d failed attempts retried), subscriber resumed %d times; %s",
		strings.Join(seen, " → "), greenAfter.Round(time.Millisecond), s.count(), s.failures, w.resumes, time.Since(start).Round(time.Millisecond))
}

// listeners counts the sessions listening on parley_events, from
// pg_stat_activity (a listener's last statement is its LISTEN until its
// first keepalive ping, 15 s later).
func listeners(t *testing.T, pg *pgCluster) int {
	t.Helper()
	db, err := sql.Open("postgres", pg.url())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE query ILIKE 'LISTEN %parley_events%'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestTwoInstancesUnderLoad: two instances on one database; each pair sends
// through one instance and receives on the other, all at once.
func TestTwoInstancesUnderLoad(t *testing.T) {
	t.Parallel()
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		t.Skip("needs PostgreSQL: set TEST_DATABASE_URL (CI does)")
	}
	start := time.Now()
	dbURL := dbtest.Schema(t, base)
	one := startInstance(t, "one", freeAddr(t), dbURL, t.TempDir())
	two := startInstance(t, "two", freeAddr(t), dbURL, t.TempDir())
	insts := []*instance{one, two}
	const pairs = 4
	var senders []*sender
	var watchers []*watcher
	var from []int
	for i := 0; i < pairs; i++ {
		in, out := insts[i%2], insts[(i+1)%2]
		a := register(t, in.base, fmt.Sprintf("two_a%d", i))
		b := register(t, out.base, fmt.Sprintf("two_b%d", i))
		if _, err := send(in.base, a, b.ID, "open", "open"); err != nil {
			t.Fatal(err)
		}
		w := watch(t, b, func() string { return out.base })
		from = append(from, goLive(t, w, in.base, a, fmt.Sprintf("t%d", i)))
		senders = append(senders, newSender(a, b.ID, fmt.Sprintf("t%d", i), func() string { return in.base }))
		watchers = append(watchers, w)
	}
	// The receiver of pair 0 also listens on the sender's own instance.
	also := watch(t, watchers[0].who, func() string { return one.base })
	alsoFrom := goLive(t, also, one.base, senders[0].from, "t0-also")

	stop := make(chan struct{})
	wait := runAll(senders, stop, 30*time.Second)
	waitCount(t, senders, 40, 30*time.Second)
	// A retry that lands on the other instance is the same message.
	retry := senders[1]
	retry.mu.Lock()
	cid := retry.order[0]
	first := retry.acked[cid]
	retry.mu.Unlock()
	again, err := send(one.base, retry.from, retry.to, cid, cid)
	if err != nil {
		t.Fatal(err)
	}
	if again != first {
		t.Errorf("retrying %s on the other instance gave %+v, first answer %+v", cid, again, first)
	}
	close(stop)
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	total := 0
	for i, s := range senders {
		hist := history(t, insts[(i+1)%2].base, s.from, s.to)
		checkHistory(t, hist, s)
		waitDelivered(t, watchers[i], hist, 15*time.Second)
		checkDelivered(t, watchers[i], hist, from[i])
		if i == 0 {
			waitDelivered(t, also, hist, 15*time.Second)
			checkDelivered(t, also, hist, max(from[0], alsoFrom))
		}
		total += s.count()
	}
	for _, w := range append(watchers, also) {
		if w.resumes > 0 {
			t.Errorf("%s's stream ended %d times: %v", w.who.Name, w.resumes, w.closed)
		}
	}
	t.Logf("%d messages across two instances, each delivered once on the other; %s", total, time.Since(start).Round(time.Millisecond))
}
