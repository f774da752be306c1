package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// postgraphileQuery is the same page through PostGraphile's reflection of
// the same tables: the conversation's last 50 messages by seq, each with its
// sender (users by sender_id) and its quote (messages by quote_id) with the
// quote's sender. PostGraphile returns the parts JSON, from which Parley
// computes text; it applies no privacy rules (it runs as the database owner),
// Parley applies its policies to every row.
const postgraphileQuery = `query($c: BigInt!) {
  conversationById(id: $c) {
    messagesByConversationId(last: 50, orderBy: SEQ_ASC, condition: {deletedAt: null}) {
      edges { node {
        id seq createdAt parts
        userBySenderId { id username nickname avatar }
        messageByQuoteId { id seq parts userBySenderId { id username nickname } }
      } }
    }
  }
}`

// historyScenario: -readers clients read the same history page in a closed
// loop for -duration, from Parley, from PostGraphile 4 on the same tables,
// and as the SQL Parley runs for it through pgbench (the bound).
func historyScenario(ctx context.Context, e *env) error {
	cli := newAPI(e.base, e.opt.readers)
	alice, bob, err := cli.registerPair(ctx, "hist")
	if err != nil {
		return err
	}
	// A conversation of -history-len messages; every third quotes the one
	// five before it.
	var ids []string
	for i := 0; i < e.opt.historyLen; i++ {
		from, to := alice, bob
		if i%2 == 1 {
			from, to = bob, alice
		}
		quote := ""
		if i%3 == 2 && i >= 5 {
			quote = ids[i-5]
		}
		m, err := cli.sendQuote(ctx, from, to.ID, fmt.Sprintf("history message %d, a line of ordinary chat text", i), quote)
		if err != nil {
			return err
		}
		ids = append(ids, m.ID)
	}
	conv, err := directConversation(ctx, cli, alice, bob.ID)
	if err != nil {
		return err
	}
	var page historyResult
	if err := cli.Query(ctx, alice.Token, historyQuery, map[string]any{"c": conv}, &page); err != nil {
		return err
	}
	if n := len(page.Messages.Edges); n != 50 {
		return fmt.Errorf("parley's page has %d messages, want 50", n)
	}

	parley := func() (float64, error) {
		return closedLoop(ctx, e.opt.readers, e.opt.warmup, e.opt.duration, func() error {
			return cli.Query(ctx, alice.Token, historyQuery, map[string]any{"c": conv}, nil)
		})
	}
	var pg func() (float64, error)
	if e.opt.postgraph != "" {
		pgl, stop, err := startPostGraphile(ctx, e)
		if err != nil {
			return err
		}
		defer stop()
		pgc := newAPI(pgl, e.opt.readers)
		pgc.Path = "/graphql"
		var out struct {
			ConversationByID struct {
				MessagesByConversationID struct {
					Edges []struct {
						Node struct {
							ID               string
							UserBySenderID   *struct{ Username string }
							MessageByQuoteID *struct{ ID string }
						}
					}
				}
			}
		}
		if err := pgc.Query(ctx, "", postgraphileQuery, map[string]any{"c": conv}, &out); err != nil {
			return fmt.Errorf("postgraphile: %w", err)
		}
		edges := out.ConversationByID.MessagesByConversationID.Edges
		quotes := 0
		for _, ed := range edges {
			if ed.Node.MessageByQuoteID != nil {
				quotes++
			}
		}
		if len(edges) != 50 || edges[49].Node.ID != page.Messages.Edges[49].Node.ID || quotes == 0 {
			return fmt.Errorf("postgraphile's page differs: %d messages, %d quotes", len(edges), quotes)
		}
		pg = func() (float64, error) {
			return closedLoop(ctx, e.opt.readers, e.opt.warmup, e.opt.duration, func() error {
				return pgc.Query(ctx, "", postgraphileQuery, map[string]any{"c": conv}, nil)
			})
		}
	}
	script := filepath.Join(e.opt.benchDir, "history.sql")
	var vars map[string]string
	if e.trace != nil {
		if vars, err = historyVars(ctx, e, cli, alice, conv); err != nil {
			return err
		}
	} else {
		e.report.note("history: no pgbench bound with -url (the id lists come from a traced page of the in-process server)")
	}
	var bestP, bestG, bestB float64
	for r := 0; r < e.opt.repeat; r++ {
		p, err := parley()
		if err != nil {
			return fmt.Errorf("parley: %w", err)
		}
		bestP = max(bestP, p)
		if pg != nil {
			g, err := pg()
			if err != nil {
				return fmt.Errorf("postgraphile: %w", err)
			}
			bestG = max(bestG, g)
		}
		if vars != nil {
			b, err := e.pgbench(ctx, pgbenchRun{script: script, vars: vars, clients: e.opt.readers, duration: e.opt.duration, mode: "simple"})
			if err != nil {
				return err
			}
			bestB = max(bestB, b.tps)
		}
		fmt.Fprintf(os.Stderr, "   round %d: parley %.0f/s, postgraphile %.0f/s, pgbench %.0f tps\n", r+1, p, bestG, bestB)
	}
	fig := fmt.Sprintf("history page (50 messages, sender, quote), %d readers", e.opt.readers)
	if pg != nil {
		ratio := bestP / bestG
		e.report.add(row{scenario: "history", figure: fig, value: fmt.Sprintf("%.0f pages/s", bestP),
			baseline: fmt.Sprintf("PostGraphile 4 (%d workers) %.0f pages/s", e.opt.pgWorkers, bestG),
			ratio:    ratio, ratioOf: "parley/postgraphile", goal: "≥ 2", met: boolp(ratio >= 2)})
	}
	if vars == nil {
		return nil
	}
	e.report.add(row{scenario: "history", figure: fig + ", bound", value: fmt.Sprintf("%.0f pages/s", bestP),
		baseline: fmt.Sprintf("pgbench history.sql %.0f tps", bestB),
		ratio:    bestP / bestB, ratioOf: "parley/pgbench", goal: "(bound)"})
	return nil
}

// closedLoop runs f from n goroutines, back to back: warm-up, then d
// measured. It returns the measured calls per second.
func closedLoop(ctx context.Context, n int, warmup, d time.Duration, f func() error) (float64, error) {
	var (
		count    atomic.Int64
		firstErr atomic.Value
		wg       sync.WaitGroup
	)
	measureFrom := time.Now().Add(warmup)
	end := measureFrom.Add(d)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				t0 := time.Now()
				if t0.After(end) {
					return
				}
				if err := f(); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				if t0.After(measureFrom) && time.Now().Before(end) {
					count.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return 0, err
	}
	return float64(count.Load()) / d.Seconds(), nil
}

// historyVars are the -D variables of bench/pgbench/history.sql: the
// reader's session and id, the conversation, and the id lists of the
// sender and quote queries, taken from a traced page so that pgbench sends
// what ent sent.
func historyVars(ctx context.Context, e *env, cli *api, reader user, conv string) (map[string]string, error) {
	if e.db == nil || e.trace == nil {
		return nil, fmt.Errorf("history's pgbench baseline needs the in-process server")
	}
	var sess int64
	if err := e.db.db.QueryRowContext(ctx, `SELECT id FROM sessions WHERE user_id = $1 ORDER BY id DESC LIMIT 1`, reader.ID).Scan(&sess); err != nil {
		return nil, err
	}
	// Once untraced first, as every measured page comes after another one:
	// the session is then in the instance's cache.
	if err := historyPage(ctx, cli, reader, conv); err != nil {
		return nil, err
	}
	e.trace.start()
	err := historyPage(ctx, cli, reader, conv)
	stmts := e.trace.stop()
	if err != nil {
		return nil, err
	}
	var lists []string
	for _, s := range stmts {
		if background(s) || !strings.Contains(s, `."id" IN (`) || strings.Contains(s, `"sessions"`) {
			continue
		}
		if ids := inList(s); ids != "" && !strings.Contains(s, `"password_hash"`) {
			lists = append(lists, ids)
		}
	}
	if len(lists) != 3 {
		return nil, fmt.Errorf("expected 3 id lists (senders, quotes, their senders) in a traced page, got %d: update bench/pgbench/history.sql", len(lists))
	}
	// The script must replay what the server ran, no more and no less.
	script := filepath.Join(e.opt.benchDir, "history.sql")
	want, err := statementsIn(script)
	if err != nil {
		return nil, err
	}
	if got := countStatements(stmts); got != want {
		for _, s := range stmts {
			fmt.Fprintln(os.Stderr, "   traced:", oneLine(s))
		}
		e.report.note("history: the server ran %d statements for one page, %s has %d: update the script (go run ./server/load -scenarios trace)", got, script, want)
	} else {
		e.report.note("history: %s replays the %d statements the server runs for one page (checked against a traced page in this run)", script, got)
	}
	return map[string]string{"me": reader.ID, "sess": strconv.FormatInt(sess, 10), "conv": conv,
		"senders": lists[0], "quotes": lists[1], "quoteSenders": lists[2]}, nil
}

// inList returns the values bound to the first IN ($a, ..., $z) of a traced
// statement, comma-separated.
func inList(stmt string) string {
	i := strings.Index(stmt, " IN (")
	a := strings.Index(stmt, "args=[")
	if i < 0 || a < 0 {
		return ""
	}
	list := stmt[i+5:]
	list = list[:strings.IndexByte(list, ')')]
	n := len(strings.Split(list, ","))
	first, _ := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(strings.Split(list, ",")[0]), "$"))
	args := strings.Fields(strings.TrimSuffix(stmt[a+6:], "]"))
	if first < 1 || first-1+n > len(args) {
		return ""
	}
	return strings.Join(args[first-1:first-1+n], ",")
}

// startPostGraphile runs the pinned PostGraphile 4 on the run's schema and
// returns its base URL. It installs the package (npm ci) when
// node_modules is missing or older than the lock file.
func startPostGraphile(ctx context.Context, e *env) (string, func(), error) {
	dir := e.opt.postgraph
	if err := npmCI(ctx, dir); err != nil {
		return "", nil, err
	}
	conn, _, err := libpqURL(e.dbURL)
	if err != nil {
		return "", nil, err
	}
	schema := "public"
	if e.db != nil {
		schema = e.db.name
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	args := []string{filepath.Join("node_modules", "postgraphile", "cli.js"),
		"-c", conn, "--schema", schema, "--host", "127.0.0.1", "--port", strconv.Itoa(port),
		"--disable-query-log", "--disable-graphiql"}
	if e.opt.pgWorkers > 1 {
		args = append(args, "--cluster-workers", strconv.Itoa(e.opt.pgWorkers))
	}
	cmd := exec.Command("node", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NODE_ENV=production")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // its cluster workers stop with it
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("node postgraphile: %w", err)
	}
	var logMu sync.Mutex
	var logLines []string
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			logMu.Lock()
			logLines = append(logLines, sc.Text())
			logMu.Unlock()
		}
	}()
	stop := func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	probe := newAPI(base, 1)
	probe.Path = "/graphql"
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := probe.Query(ctx, "", `{ __typename }`, nil, nil)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			stop()
			logMu.Lock()
			defer logMu.Unlock()
			return "", nil, fmt.Errorf("postgraphile did not start: %v\n%s", err, strings.Join(logLines, "\n"))
		}
		time.Sleep(200 * time.Millisecond)
	}
	// With several workers, wait until each answers (they start one by one).
	time.Sleep(time.Duration(e.opt.pgWorkers) * 500 * time.Millisecond)
	return base, stop, nil
}

// npmCI installs dir's pinned packages when node_modules is missing or
// older than package-lock.json.
func npmCI(ctx context.Context, dir string) error {
	lock, err := os.Stat(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		return fmt.Errorf("postgraphile: %w", err)
	}
	if inst, err := os.Stat(filepath.Join(dir, "node_modules", ".package-lock.json")); err == nil && !inst.ModTime().Before(lock.ModTime()) {
		return nil
	}
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("npm ci in %s: %v\n%s", dir, err, out)
	}
	return nil
}
