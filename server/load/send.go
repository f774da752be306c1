package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// pairSet is senders[i] writing to peers[i] in an open direct conversation,
// with the database ids pgbench needs to replay the same transaction.
type pairSet struct {
	senders, peers []user
	// Database ids of pair 0; pair i is at u0+2i (sender), u0+2i+1 (peer),
	// s0+2i (the sender's session) and c0+i (conversation): the users,
	// their sessions and the conversations were created one after another.
	u0, s0, c0 int64
}

// makePairs registers n sender/peer pairs one after another and opens their
// direct conversations, so that ids are consecutive (checked).
func makePairs(ctx context.Context, e *env, cli *api, prefix string, n int) (*pairSet, error) {
	p := &pairSet{}
	for i := 0; i < n; i++ {
		s, err := cli.register(ctx, fmt.Sprintf("%s_s%d", prefix, i))
		if err != nil {
			return nil, err
		}
		r, err := cli.register(ctx, fmt.Sprintf("%s_r%d", prefix, i))
		if err != nil {
			return nil, err
		}
		p.senders, p.peers = append(p.senders, s), append(p.peers, r)
	}
	for i := 0; i < n; i++ {
		if _, err := cli.sendMessage(ctx, p.senders[i], p.peers[i].ID, "open", ""); err != nil {
			return nil, fmt.Errorf("open conversation %d: %w", i, err)
		}
	}
	if e.dbURL == "" {
		return p, nil
	}
	db, err := sql.Open("postgres", e.dbURL)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	ids := func(q string, args ...any) ([]int64, error) {
		rows, err := db.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return nil, err
			}
			out = append(out, id)
		}
		return out, rows.Err()
	}
	for i := 0; i < n; i++ {
		want := []string{p.senders[i].ID, p.peers[i].ID}
		for j, w := range want {
			id, _ := strconv.ParseInt(w, 10, 64)
			if i == 0 && j == 0 {
				p.u0 = id
			}
			if id != p.u0+int64(2*i+j) {
				return nil, fmt.Errorf("user ids are not consecutive (user %d is %d, want %d): another writer registers on this database", 2*i+j, id, p.u0+int64(2*i+j))
			}
		}
	}
	sess, err := ids(`SELECT s.id FROM sessions s WHERE s.user_id >= $1 AND s.user_id < $2 ORDER BY s.user_id`, p.u0, p.u0+int64(2*n))
	if err != nil {
		return nil, fmt.Errorf("read sessions: %w", err)
	}
	conv, err := ids(`SELECT c.id FROM conversations c JOIN messages m ON m.conversation_id = c.id AND m.seq = 1
		WHERE m.sender_id >= $1 AND m.sender_id < $2 ORDER BY m.sender_id`, p.u0, p.u0+int64(2*n))
	if err != nil {
		return nil, fmt.Errorf("read conversations: %w", err)
	}
	if len(sess) != 2*n || len(conv) != n {
		return nil, fmt.Errorf("found %d sessions and %d conversations, want %d and %d", len(sess), len(conv), 2*n, n)
	}
	p.s0, p.c0 = sess[0], conv[0]
	for i := range n {
		if sess[2*i] != p.s0+int64(2*i) || conv[i] != p.c0+int64(i) {
			return nil, fmt.Errorf("session or conversation ids are not consecutive")
		}
	}
	return p, nil
}

// pgbenchVars are the -D variables of bench/pgbench/send.sql.
func (p *pairSet) pgbenchVars(tag string) map[string]string {
	return map[string]string{
		"u0": strconv.FormatInt(p.u0, 10), "s0": strconv.FormatInt(p.s0, 10), "c0": strconv.FormatInt(p.c0, 10),
		"tag": tag,
	}
}

// sendScenario: N senders, each in its own direct conversation, send as
// fast as the server answers (closed loop) for -duration; beside it pgbench
// runs the statements of one send (bench/pgbench/send.sql) with N clients on
// the same database. With two instances, half of the senders send through
// each.
func sendScenario(ctx context.Context, e *env) error {
	n := e.opt.senders
	cli := newAPI(e.base, n)
	pairs, err := makePairs(ctx, e, cli, fmt.Sprintf("send%d", e.instanceCount()), n)
	if err != nil {
		return err
	}
	clis := []*api{cli}
	if e.twoInstances() {
		clis = append(clis, newAPI(e.baseOf(1), n))
	}
	script := filepath.Join(e.opt.benchDir, "send.sql")
	if _, err := os.Stat(script); err != nil {
		return err
	}
	if e.proc != nil && !e.scriptChecked {
		e.scriptChecked = true
		if err := checkScript(ctx, e, cli, pairs, script); err != nil {
			return err
		}
	}
	minimal := filepath.Join(e.opt.benchDir, "minimal_send.sql")
	if _, err := os.Stat(minimal); err != nil {
		return err
	}
	var best, bestPG, bestMin float64
	var bestLat []time.Duration
	for r := 0; r < e.opt.repeat; r++ {
		pg, err := e.pgbench(ctx, pgbenchRun{script: script, vars: pairs.pgbenchVars(fmt.Sprintf("pg%d", r)), clients: n, duration: e.opt.duration})
		if err != nil {
			return err
		}
		bestPG = max(bestPG, pg.tps)
		least, err := e.pgbench(ctx, pgbenchRun{script: minimal, vars: pairs.pgbenchVars(fmt.Sprintf("min%d", r)), clients: n, duration: e.opt.duration})
		if err != nil {
			return err
		}
		bestMin = max(bestMin, least.tps)
		rate, lat, errs, err := closedLoopSends(ctx, clis, pairs, e.opt.warmup, e.opt.duration, fmt.Sprintf("i%dr%d", e.instanceCount(), r))
		if err != nil {
			return err
		}
		if errs > 0 {
			return fmt.Errorf("%d sends failed", errs)
		}
		fmt.Fprintf(os.Stderr, "   round %d: parley %.0f/s, pgbench %.0f tps, minimal %.0f tps\n", r+1, rate, pg.tps, least.tps)
		if rate > best {
			best, bestLat = rate, lat
		}
	}
	ratio := best / bestPG
	figure := fmt.Sprintf("direct sends/s, %d concurrent senders", n)
	e.report.measured("send", figure, e.instanceCount(), best, fmt.Sprintf("%.0f/s (p99 %s)", best, ms(pct(bestLat, 99))), true)
	e.report.add(row{
		scenario: "send", figure: figure + e.label(),
		value:    fmt.Sprintf("%.0f/s (%s)", best, summary(bestLat)),
		baseline: fmt.Sprintf("pgbench send.sql %.0f tps", bestPG),
		ratio:    ratio, ratioOf: "parley/pgbench", goal: "≥ 0.5", met: boolp(ratio >= 0.5),
	})
	least := best / bestMin
	e.report.add(row{
		scenario: "send", figure: fmt.Sprintf("direct sends/s against the minimal durable write, %d concurrent senders", n) + e.label(),
		value:    fmt.Sprintf("%.0f/s", best),
		baseline: fmt.Sprintf("pgbench minimal_send.sql (one INSERT and its commit) %.0f tps", bestMin),
		ratio:    least, ratioOf: "parley/minimal", goal: "≥ 0.5", met: boolp(least >= 0.5),
	})
	return nil
}

// closedLoopSends runs every pair's sender in a loop: warm-up, then a
// measured run. Sender i sends through clis[i%len(clis)] (the instances of
// the run). It returns the measured rate and latencies.
func closedLoopSends(ctx context.Context, clis []*api, p *pairSet, warmup, d time.Duration, tag string) (float64, []time.Duration, int64, error) {
	var (
		lat      durations
		count    atomic.Int64
		errs     atomic.Int64
		firstErr atomic.Value
		wg       sync.WaitGroup
	)
	start := time.Now()
	measureFrom := start.Add(warmup)
	end := measureFrom.Add(d)
	for i := range p.senders {
		wg.Add(1)
		cli := clis[i%len(clis)]
		go func() {
			defer wg.Done()
			for k := 0; ; k++ {
				t0 := time.Now()
				if t0.After(end) || ctx.Err() != nil {
					return
				}
				_, err := cli.sendMessage(ctx, p.senders[i], p.peers[i].ID, "load message "+strconv.Itoa(k), fmt.Sprintf("%s-%d-%d", tag, i, k))
				t1 := time.Now()
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				if t0.After(measureFrom) && t1.Before(end) {
					count.Add(1)
					lat.add(t1.Sub(t0))
				}
			}
		}()
	}
	wg.Wait()
	if errs.Load() > 0 {
		return 0, nil, errs.Load(), fmt.Errorf("%d sends failed, first: %v", errs.Load(), firstErr.Load())
	}
	return float64(count.Load()) / d.Seconds(), lat.snapshot(), 0, nil
}

// checkScript compares the statement count of one traced send with the
// script's, so that the baseline cannot silently drift from what the server
// does.
func checkScript(ctx context.Context, e *env, cli *api, p *pairSet, script string) error {
	e.trace.start()
	_, err := cli.sendMessage(ctx, p.senders[0], p.peers[0].ID, "traced", "trace-check")
	stmts := e.trace.stop()
	if err != nil {
		return err
	}
	want, err := statementsIn(script)
	if err != nil {
		return err
	}
	// Wake-ups after the commit coalesce off the request's path on either
	// bus (realtime.Hub.Notify), so neither the trace nor the script has
	// one per send.
	got := countStatements(stmts)
	switch {
	case got != want:
		for _, s := range stmts {
			fmt.Fprintln(os.Stderr, "   traced:", oneLine(s))
		}
		e.report.note("send: the server ran %d statements for one send, %s has %d: update the script (go run ./server/load -scenarios trace)", got, script, want)
	case e.opt.busURL != "":
		e.report.note("send: with the NATS bus the server runs the same %d statements for one send and publishes its wake-ups on NATS; %s replays them (checked against a traced send in this run)", got, script)
	default:
		e.report.note("send: %s replays the %d statements the server runs for one send (checked against a traced send in this run)", script, got)
	}
	return nil
}
