package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"

	"github.com/parley-im/parley/internal/auth"
	"github.com/parley-im/parley/server/app"
)

// adminUsage is the admin subcommand's synopsis. Every flag of the server
// applies, before or after the word admin, and so does the environment:
// the subcommand works on the database the server would use.
const adminUsage = `usage: server [flags] admin [flags] grant USERNAME
       server [flags] admin [flags] revoke USERNAME
       server [flags] admin [flags] list

grant makes USERNAME an admin, revoke makes him an ordinary user again,
list prints the admins. The database is the server's: DATABASE_URL or
-database-url for PostgreSQL, else SQLite under PARLEY_DATA_DIR or
-data-dir; the schema is migrated first, as the server does.`

// errUsage marks a command line that says nothing the subcommand can do.
var errUsage = errors.New("bad usage")

// adminCommand reports whether args, the server's command line, run the
// admin subcommand, and returns its arguments: the flags given before the
// word admin, then everything after it.
func adminCommand(args []string) ([]string, bool) {
	flags, rest, ok := splitCommand(args)
	if !ok || len(rest) == 0 || rest[0] != "admin" {
		return nil, false
	}
	return append(slices.Clip(flags), rest[1:]...), true
}

// adminMain runs the admin subcommand with args, the server's flags and
// then the action and its username, and returns the process's exit code:
// 0 when it did what was asked, 1 when it could not (an unknown user, an
// unreachable database), 2 for a command line it does not understand.
func adminMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	err := admin(ctx, args, stdout, stderr)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprintln(stderr, adminUsage)
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "admin: %v\n%s\n", err, adminUsage)
		return 2
	}
	fmt.Fprintf(stderr, "admin: %v\n", err)
	return 1
}

// admin parses args as the server does (parseFlags and apply, without the
// JWT secret, which it does not need) and acts on the database through
// auth.SetRole and auth.Admins.
func admin(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, raw, rest, err := parseFlags(args, stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return err
	case err != nil:
		return fmt.Errorf("%w: %v", errUsage, err) // a flag that does not parse
	case len(rest) == 0:
		return fmt.Errorf("%w: give grant, revoke or list", errUsage)
	}
	action, names := rest[0], rest[1:]
	switch action {
	case "grant", "revoke":
		if len(names) != 1 {
			return fmt.Errorf("%w: %s takes one USERNAME, after the flags", errUsage, action)
		}
	case "list":
		if len(names) != 0 {
			return fmt.Errorf("%w: list takes no arguments", errUsage)
		}
	default:
		return fmt.Errorf("%w: unknown action %q", errUsage, action)
	}
	if err := raw.apply(&cfg, false); err != nil {
		return err // a setting's value, which the server would refuse too
	}

	client, events, err := app.OpenDatabase(ctx, cfg)
	if err != nil {
		return err
	}
	defer client.Close()
	if action == "list" {
		admins, err := auth.Admins(ctx, client)
		if err != nil {
			return err
		}
		if len(admins) == 0 {
			fmt.Fprintln(stdout, "(no admins)")
		}
		for _, u := range admins {
			fmt.Fprintln(stdout, u.Username)
		}
		return nil
	}
	grant := action == "grant"
	u, changed, err := auth.SetRole(ctx, client, events, names[0], grant)
	if err != nil {
		return err
	}
	switch {
	case grant && changed:
		fmt.Fprintf(stdout, "%s is now an admin\n", u.Username)
	case grant:
		fmt.Fprintf(stdout, "%s was already an admin\n", u.Username)
	case changed:
		fmt.Fprintf(stdout, "%s is no longer an admin\n", u.Username)
	default:
		fmt.Fprintf(stdout, "%s was not an admin\n", u.Username)
	}
	return nil
}
