package main

import (
	"context"
	"fmt"
	"io"
	"strings"
)

// traceScenario prints the SQL the server runs for one direct send (on a
// conversation that already exists) and for one history page: the
// statements the pgbench scripts in bench/pgbench reproduce; then for one
// group send.
func traceScenario(ctx context.Context, env *env, w io.Writer) error {
	if env.proc == nil || env.trace == nil {
		return fmt.Errorf("trace needs the in-process server (no -url)")
	}
	cli := newAPI(env.proc.base, 4)
	alice, bob, err := cli.registerPair(ctx, "trace")
	if err != nil {
		return err
	}
	first, err := cli.sendMessage(ctx, alice, bob.ID, "open", "")
	if err != nil {
		return err
	}
	env.trace.start()
	if _, err := cli.sendMessage(ctx, alice, bob.ID, "hello", "trace-1"); err != nil {
		return err
	}
	stmts := env.trace.stop()
	fmt.Fprintf(w, "-- one sendMessage(input:{to,text,clientId}) on an open direct conversation: %d statements\n", countStatements(stmts))
	for _, s := range stmts {
		if !background(s) {
			fmt.Fprintln(w, oneLine(s))
		}
	}
	if _, err := cli.sendQuote(ctx, bob, alice.ID, "quoting", first.ID); err != nil {
		return err
	}
	conv, err := directConversation(ctx, cli, alice, bob.ID)
	if err != nil {
		return err
	}
	env.trace.start()
	if err := historyPage(ctx, cli, alice, conv); err != nil {
		return err
	}
	stmts = env.trace.stop()
	fmt.Fprintf(w, "\n-- one history page (%s): %d statements\n", "messages(last: 50) with sender and quote", countStatements(stmts))
	for _, s := range stmts {
		if !background(s) {
			fmt.Fprintln(w, oneLine(s))
		}
	}

	// A group send, whose cost grows with the group (its members' list rows).
	group, err := makeGroup(ctx, cli, []user{alice, bob}, "trace")
	if err != nil {
		return err
	}
	if _, err := cli.sendGroup(ctx, alice, group, "open"); err != nil {
		return err
	}
	env.trace.start()
	if _, err := cli.sendGroup(ctx, alice, group, "hello group"); err != nil {
		return err
	}
	stmts = env.trace.stop()
	fmt.Fprintf(w, "\n-- one send(input:{groupId,text}) to a 2-member group: %d statements\n", countStatements(stmts))
	for _, s := range stmts {
		if !background(s) {
			fmt.Fprintln(w, oneLine(s))
		}
	}
	return nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// countStatements counts the SQL statements in traced lines, BEGIN and
// COMMIT included.
func countStatements(lines []string) int {
	n := 0
	for _, l := range lines {
		if background(l) {
			continue
		}
		switch {
		case strings.Contains(l, "query="), strings.HasSuffix(l, "started"), strings.HasSuffix(l, "committed"):
			n++
		}
	}
	return n
}

// background tells the statements of the hub and presence, which run on
// their own and may fall inside a traced request.
func background(l string) bool {
	return strings.Contains(l, `FROM "events" WHERE "events"."id" >`) ||
		strings.Contains(l, `FROM events WHERE id >`) || // the PostgreSQL tail
		strings.Contains(l, `FROM pg_locks`) || // its appenders in flight
		strings.Contains(l, `"presences"`)
}
