package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"sync"
	"time"
)

// row is one figure of the report: a measurement beside its baseline from
// the same run, their ratio and the goal the ratio (or value) is held to.
type row struct {
	scenario string
	figure   string
	value    string
	baseline string
	ratio    float64 // value over baseline, in the direction that says "better when higher"
	ratioOf  string  // how the ratio reads, e.g. "parley/pgbench"
	goal     string
	met      *bool
}

type report struct {
	mu      sync.Mutex
	rows    []row
	notes   []string
	failed  map[string]error
	order   []string
	byCount []*countFigure
}

// countFigure is one figure of an instance-aware scenario as measured with
// each -instances count, so that two instances can be read against one in
// the same run.
type countFigure struct {
	scenario, figure string
	higherBetter     bool
	value            map[int]float64 // by instance count
	shown            map[int]string
}

func newReport() *report { return &report{failed: map[string]error{}} }

// measured records a figure of the run with instances instances: v is the
// number compared across counts, shown what the row prints.
func (r *report) measured(scenario, figure string, instances int, v float64, shown string, higherBetter bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var f *countFigure
	for _, x := range r.byCount {
		if x.scenario == scenario && x.figure == figure {
			f = x
		}
	}
	if f == nil {
		f = &countFigure{scenario: scenario, figure: figure, higherBetter: higherBetter, value: map[int]float64{}, shown: map[int]string{}}
		r.byCount = append(r.byCount, f)
	}
	f.value[instances], f.shown[instances] = v, shown
}

// compareInstances adds a row for every figure measured with both one and
// two instances: the two-instance figure against the one-instance one of
// the same run, which is what the bus between the instances costs.
func (r *report) compareInstances(bus string) {
	r.mu.Lock()
	var add []row
	for _, f := range r.byCount {
		one, ok1 := f.value[1]
		two, ok2 := f.value[2]
		if !ok1 || !ok2 || one <= 0 || two <= 0 {
			continue
		}
		x := row{
			scenario: f.scenario, figure: fmt.Sprintf("%s: 2 instances (bus %s) against 1", f.figure, bus),
			value: "2 instances: " + f.shown[2], baseline: "1 instance: " + f.shown[1],
			ratio: two / one, ratioOf: "2-instance/1-instance",
		}
		if !f.higherBetter {
			x.ratio, x.ratioOf = one/two, "1-instance/2-instance"
		}
		add = append(add, x)
	}
	r.mu.Unlock()
	for _, x := range add {
		r.add(x)
	}
}

func (r *report) add(x row) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rows = append(r.rows, x)
}

func (r *report) note(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
}

func (r *report) fail(name string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed[name] = err
	r.order = append(r.order, name)
}

func (r *report) failedAny() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.failed) > 0
}

func (r *report) print(w io.Writer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintf(w, "\n## Parley load report (%s, load average %s)\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"), loadAvg())
	fmt.Fprintln(w, "| Scenario | Figure | Parley | Baseline (same run) | Ratio | Goal | Met |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	for _, x := range r.rows {
		met := ""
		if x.met != nil {
			met = map[bool]string{true: "yes", false: "**no**"}[*x.met]
		}
		ratio := ""
		if !math.IsNaN(x.ratio) && x.ratio != 0 {
			ratio = fmt.Sprintf("%.2f (%s)", x.ratio, x.ratioOf)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n", x.scenario, x.figure, x.value, x.baseline, ratio, x.goal, met)
	}
	for _, name := range r.order {
		fmt.Fprintf(w, "| %s | FAILED: %v | | | | | |\n", name, r.failed[name])
	}
	if len(r.notes) > 0 {
		fmt.Fprintln(w)
		for _, n := range r.notes {
			fmt.Fprintln(w, "- "+n)
		}
	}
}

func boolp(b bool) *bool { return &b }

// durations collects latencies.
type durations struct {
	mu sync.Mutex
	d  []time.Duration
}

func (d *durations) add(x time.Duration) {
	d.mu.Lock()
	d.d = append(d.d, x)
	d.mu.Unlock()
}

func (d *durations) snapshot() []time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := slices.Clone(d.d)
	slices.Sort(out)
	return out
}

// pct returns the p-th percentile (0..100) of sorted, nearest-rank.
func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	i = max(0, min(i, len(sorted)-1))
	return sorted[i]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

func summary(sorted []time.Duration) string {
	if len(sorted) == 0 {
		return "no samples"
	}
	return fmt.Sprintf("p50 %s, p90 %s, p99 %s, max %s (n=%d)",
		ms(pct(sorted, 50)), ms(pct(sorted, 90)), ms(pct(sorted, 99)), ms(sorted[len(sorted)-1]), len(sorted))
}
