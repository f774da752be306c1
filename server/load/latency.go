package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// latencyScenario: -pairs receivers subscribe to events; senders send at a
// fixed total -rate (open loop: a message is scheduled every 1/rate whether
// or not earlier ones are done, so a stall shows as latency instead of a
// lower rate). The latency of a message runs from its scheduled send time to
// its receipt on the receiver's WebSocket. Beside it, pgbench replays the
// send transaction at the same rate, from the scheduled start likewise.
// With two instances the senders send through A and the receivers
// subscribe on B, so that every delivery crosses the bus.
func latencyScenario(ctx context.Context, e *env) error {
	for _, r := range e.opt.rates {
		if err := e.startSecond(ctx); err != nil { // stopped before the previous rate's baseline
			return err
		}
		if err := latencyAt(ctx, e, r); err != nil {
			return fmt.Errorf("at %d/s: %w", r, err)
		}
	}
	return nil
}

func latencyAt(ctx context.Context, e *env, rate int) error {
	n := e.opt.pairs
	cli := newAPI(e.base, 64)
	pairs, err := makePairs(ctx, e, cli, fmt.Sprintf("lat%d_%d", rate, e.instanceCount()), n)
	if err != nil {
		return err
	}
	var (
		mu        sync.Mutex
		scheduled = map[string]time.Time{}
		lat       durations
		received  atomic.Int64
	)
	onEvent := func(ev event) {
		if ev.Kind != "MESSAGE_CREATED" || ev.Node == nil {
			return
		}
		now := time.Now()
		mu.Lock()
		t, ok := scheduled[ev.Node.Text]
		delete(scheduled, ev.Node.Text)
		mu.Unlock()
		if ok {
			lat.add(now.Sub(t))
			received.Add(1)
		}
	}
	want := liveCounts(e)
	if len(want) > 0 {
		want[len(want)-1] += n // the receivers' instance: B with two, else A
	}
	d := wsDialer(nil)
	subs := make([]*subscriber, n)
	for i := range n {
		s, err := subscribe(ctx, d, e.far(), pairs.peers[i].Token, eventsSubscription, onEvent)
		if err != nil {
			return fmt.Errorf("subscribe: %w", err)
		}
		subs[i] = s
	}
	defer func() {
		for _, s := range subs {
			s.Close()
		}
	}()
	if err := waitLiveAll(e, want); err != nil {
		return err
	}

	interval := time.Second / time.Duration(rate)
	total := int(e.opt.duration.Seconds() * float64(rate))
	warm := int(e.opt.warmup.Seconds() * float64(rate))
	jobs := make(chan int, total+warm)
	var (
		sendLat durations
		errs    atomic.Int64
		first   atomic.Value
		wg      sync.WaitGroup
	)
	start := time.Now().Add(50 * time.Millisecond)
	for w := 0; w < 128; w++ { // enough workers that none waits at the target rate
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range jobs {
				at := start.Add(time.Duration(k) * interval)
				if dl := time.Until(at); dl > 0 {
					time.Sleep(dl)
				}
				i := k % n
				text := fmt.Sprintf("lat-%d", k)
				if k >= warm {
					mu.Lock()
					scheduled[text] = at
					mu.Unlock()
				}
				t0 := time.Now()
				_, err := cli.sendMessage(ctx, pairs.senders[i], pairs.peers[i].ID, text, "")
				if err != nil {
					errs.Add(1)
					first.CompareAndSwap(nil, err)
					continue
				}
				if k >= warm {
					sendLat.add(time.Since(t0))
				}
			}
		}()
	}
	for k := 0; k < total+warm; k++ {
		jobs <- k
	}
	close(jobs)
	wg.Wait()
	sentAt := time.Now()
	// Wait for the stragglers (a lost message shows as missing).
	for time.Since(sentAt) < 5*time.Second && int(received.Load()) < total {
		time.Sleep(10 * time.Millisecond)
	}
	if errs.Load() > 0 {
		return fmt.Errorf("%d sends failed, first: %v", errs.Load(), first.Load())
	}
	got := lat.snapshot()
	missing := total - len(got)
	// The achieved rate: messages received over the time from the first
	// measured message's scheduled send to the last send's answer.
	achieved := float64(len(got)) / sentAt.Sub(start.Add(time.Duration(warm)*interval)).Seconds()
	if e.twoInstances() {
		for _, s := range subs {
			s.Close()
		}
		e.stopSecond() // see stopSecond: the baseline runs beside A alone
	}

	pg, err := e.pgbench(ctx, pgbenchRun{script: filepath.Join(e.opt.benchDir, "send.sql"), vars: pairs.pgbenchVars(fmt.Sprintf("lat%d", rate)),
		clients: min(n, 32), duration: e.opt.duration, rate: rate, logLat: true})
	if err != nil {
		return err
	}
	p99, pgp99 := pct(got, 99), pct(pg.latencies, 99)
	figure := fmt.Sprintf("send → receipt at %d msg/s, %d pairs", rate, n)
	e.report.measured("latency", figure, e.count, float64(p99), fmt.Sprintf("p50 %s, p99 %s, %d missing", ms(pct(got, 50)), ms(p99), missing), false)
	x := row{
		scenario: "latency", figure: figure + e.label(),
		value:    fmt.Sprintf("%s; achieved %.0f/s, %d missing", summary(got), achieved, missing),
		baseline: fmt.Sprintf("pgbench send.sql at %d tps: %s", rate, summary(pg.latencies)),
		ratio:    float64(pgp99) / float64(max(p99, 1)), ratioOf: "pgbench p99/parley p99",
		goal: "p99 ≤ 20 ms at 500/s", met: boolp(p99 <= 20*time.Millisecond && rate >= 500 && missing == 0 && achieved >= 0.95*float64(rate)),
	}
	if rate < 500 {
		x.goal, x.met = "(a rate below the goal's, for reference)", nil
	}
	e.report.add(x)
	if pg.tps < 0.95*float64(rate) {
		e.report.note("latency%s: at %d/s pgbench itself reached only %.0f tps: the machine (the database and pgbench) did not keep up with that rate in this run, so its latencies there include a growing queue", e.label(), rate, pg.tps)
	}
	sl := sendLat.snapshot()
	e.report.note("latency at %d/s%s: the sendMessage request alone (HTTP round trip) took %s", rate, e.label(), summary(sl))
	if missing > 0 {
		fmt.Fprintf(os.Stderr, "   %d of %d messages were not received within 5 s\n", missing, total)
	}
	return nil
}

// instancesOf are the in-process instances of the current run (none with
// -url).
func instancesOf(e *env) []*inProcess {
	if len(e.procs) == 0 && e.proc != nil {
		return []*inProcess{e.proc}
	}
	return e.procs
}

// liveCounts is each in-process instance's hub subscription count now, in
// the order of e.procs (empty with -url).
func liveCounts(e *env) []int {
	var out []int
	for _, p := range instancesOf(e) {
		out = append(out, p.app.Hub.Stats().Subscriptions)
	}
	return out
}

// waitLive waits until instance A's hub holds want subscriptions: a
// live-only subscription misses what commits before the server registered
// it, and graphql-transport-ws does not acknowledge a subscribe. Against a
// server elsewhere, a pause stands in for the count.
func waitLive(e *env, want int) error {
	if e.proc == nil {
		return waitLiveAll(e, nil)
	}
	return waitLiveAll(e, []int{want})
}

// waitLiveAll waits until the hub of each in-process instance i holds
// want[i] subscriptions (see waitLive).
func waitLiveAll(e *env, want []int) error {
	procs := instancesOf(e)
	if len(procs) == 0 {
		time.Sleep(2 * time.Second)
		return nil
	}
	deadline := time.Now().Add(60 * time.Second)
	for i, w := range want {
		for procs[i].app.Hub.Stats().Subscriptions < w {
			if time.Now().After(deadline) {
				return fmt.Errorf("only %d of %d subscriptions registered on instance %d", procs[i].app.Hub.Stats().Subscriptions, w, i+1)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return nil
}
