package main

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

func findPgbench() string {
	if p, err := exec.LookPath("pgbench"); err == nil {
		return p
	}
	for _, v := range []string{"17", "16", "15", "14", "13"} {
		p := "/usr/lib/postgresql/" + v + "/bin/pgbench"
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "pgbench"
}

// libpqURL turns the server's database URL into what libpq accepts: lib/pq
// passes unknown parameters (search_path) as run-time settings, libpq
// refuses them, so they move to PGOPTIONS.
func libpqURL(dbURL string) (conn string, pgoptions string, err error) {
	u, err := url.Parse(dbURL)
	if err != nil {
		return "", "", err
	}
	q := u.Query()
	var opts []string
	for _, k := range []string{"search_path"} {
		if v := q.Get(k); v != "" {
			opts = append(opts, fmt.Sprintf("-c %s=%s", k, v))
			q.Del(k)
		}
	}
	u.RawQuery = q.Encode()
	return u.String(), strings.Join(opts, " "), nil
}

// pgbenchRun is one pgbench invocation.
type pgbenchRun struct {
	script   string            // path of the script
	vars     map[string]string // -D name=value
	clients  int
	duration time.Duration
	rate     int  // -R, 0 for as fast as possible
	logLat   bool // -l: per-transaction latencies
	// mode is pgbench's -M: extended (the default here) sends each
	// statement as lib/pq does, parsed and planned every time; simple
	// substitutes variables as text.
	mode string
}

type pgbenchResult struct {
	tps       float64
	latencies []time.Duration // sorted, with schedule lag, when logLat
	failed    int
	output    string
}

var tpsRE = regexp.MustCompile(`tps = ([0-9.]+) \((without initial connection time|excluding connections establishing)\)`)
var failedRE = regexp.MustCompile(`number of failed transactions: ([0-9]+)`)

func (e *env) pgbench(ctx context.Context, r pgbenchRun) (pgbenchResult, error) {
	var res pgbenchResult
	conn, opts, err := libpqURL(e.dbURL)
	if err != nil {
		return res, err
	}
	dir, err := os.MkdirTemp("", "pgbench-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	args := []string{"-n", "-f", r.script, "-c", strconv.Itoa(r.clients), "-j", strconv.Itoa(min(r.clients, 2)),
		"-T", strconv.Itoa(int(r.duration.Round(time.Second) / time.Second)), "-M", cmp.Or(r.mode, "extended")}
	if r.rate > 0 {
		args = append(args, "-R", strconv.Itoa(r.rate))
	}
	if r.logLat {
		args = append(args, "-l", "--log-prefix", filepath.Join(dir, "lat"))
	}
	names := make([]string, 0, len(r.vars))
	for k := range r.vars {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		args = append(args, "-D", k+"="+r.vars[k])
	}
	args = append(args, conn)
	if !filepath.IsAbs(r.script) {
		abs, err := filepath.Abs(r.script)
		if err != nil {
			return res, err
		}
		args[2] = abs
	}
	cmd := exec.CommandContext(ctx, e.opt.pgbench, args...)
	cmd.Env = append(os.Environ(), "PGOPTIONS="+opts)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	res.output = string(out)
	if err != nil {
		return res, fmt.Errorf("pgbench %s: %v\n%s", filepath.Base(r.script), err, out)
	}
	m := tpsRE.FindStringSubmatch(res.output)
	if m == nil {
		return res, fmt.Errorf("pgbench: no tps in output:\n%s", out)
	}
	res.tps, _ = strconv.ParseFloat(m[1], 64)
	if m := failedRE.FindStringSubmatch(res.output); m != nil {
		res.failed, _ = strconv.Atoi(m[1])
	}
	if res.failed > 0 {
		return res, fmt.Errorf("pgbench %s: %d failed transactions\n%s", filepath.Base(r.script), res.failed, out)
	}
	if r.logLat {
		files, _ := filepath.Glob(filepath.Join(dir, "lat*"))
		for _, f := range files {
			lat, err := readPgbenchLog(f, r.rate > 0)
			if err != nil {
				return res, err
			}
			res.latencies = append(res.latencies, lat...)
		}
		sort.Slice(res.latencies, func(i, j int) bool { return res.latencies[i] < res.latencies[j] })
	}
	return res, nil
}

// readPgbenchLog reads per-transaction lines: client_id transaction_no time
// script_no time_epoch time_us [schedule_lag]. With a rate, the schedule
// lag is added, so that the latency counts from the scheduled start as the
// tool's own latencies do.
func readPgbenchLog(path string, lagged bool) ([]time.Duration, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []time.Duration
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 6 {
			continue
		}
		us, err := strconv.ParseInt(fs[2], 10, 64)
		if err != nil {
			continue // "skipped" transactions
		}
		if lagged && len(fs) >= 7 {
			lag, _ := strconv.ParseInt(fs[6], 10, 64)
			us += lag
		}
		out = append(out, time.Duration(us)*time.Microsecond)
	}
	return out, sc.Err()
}

// statementsIn counts the SQL statements of a pgbench script (lines that
// are neither meta-commands nor comments, ending with ; or \gset).
func statementsIn(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "--") {
			continue
		}
		if strings.HasSuffix(t, ";") || strings.Contains(t, `\gset`) {
			n++
		}
	}
	return n, nil
}
