package main

import (
	"context"
	"fmt"
	"io"
	"strings"
)

// traceScenario prints the SQL the server runs for one direct send (on a
// conversation that already exists) and for one history page: the
// statements the pgbench scripts in bench/pgbench reproduce.
func traceScenario(ctx context.Context, env *env, w io.Writer) error {
	if env.proc == nil || env.trace == nil {
		return fmt.Errorf("trace needs the in-process server (no -url)")
	}
	cli := newAPI(env.proc.base, 4)
	alice, err := cli.register(ctx, "trace_alice")
	if err != nil {
		return err
	}
	bob, err := cli.register(ctx, "trace_bob")
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
	fmt.Fprintf(w, "-- one sendMessage(input:{to,text,clientId}) on an open direct conversation: %d statements\n", len(stmts))
	for _, s := range stmts {
		fmt.Fprintln(w, oneLine(s))
	}
	if _, err := cli.sendMessage(ctx, bob, alice.ID, "quoting", ""); err != nil {
		return err
	}
	conv, err := directConversation(ctx, cli, alice, bob.ID)
	if err != nil {
		return err
	}
	_ = first
	env.trace.start()
	if err := historyPage(ctx, cli, alice, conv); err != nil {
		return err
	}
	stmts = env.trace.stop()
	fmt.Fprintf(w, "\n-- one history page (%s): %d statements\n", "messages(last: 50) with sender and quote", len(stmts))
	for _, s := range stmts {
		fmt.Fprintln(w, oneLine(s))
	}
	return nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
