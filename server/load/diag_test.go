package main

import (
	"context"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestDiagFanout(t *testing.T) {
	ctx := context.Background()
	db, _ := newSchema(ctx, os.Getenv("TEST_DATABASE_URL"), false)
	defer db.Close()
	tr := &sqlTrace{}
	p, err := startInProcess(ctx, db.url, randomSecret(), tr)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	e := &env{proc: p, base: p.base, db: db, dbURL: db.url}
	cli := newAPI(p.base, 16)
	us, _ := cli.registerMany(ctx, "d", 100, 4)
	g, err := makeGroup(ctx, p.app.Client, us, "d")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	want := ""
	for _, u := range us {
		s, _ := subscribe(ctx, wsDialer(nil), p.base, u.Token, eventsSubscription, func(ev event) {
			mu.Lock()
			defer mu.Unlock()
			if ev.Node != nil && ev.Node.Text == want {
				wg.Done()
			}
		})
		defer s.Close()
	}
	waitLive(e, 100)
	for r := 0; r < 3; r++ {
		mu.Lock()
		want = "x" + string(rune('a'+r))
		mu.Unlock()
		wg.Add(100)
		tr.start()
		t0 := time.Now()
		cli.sendGroup(ctx, us[0], g, want)
		sent := time.Since(t0)
		wg.Wait()
		d := time.Since(t0)
		st := tr.stop()
		kinds := map[string]int{}
		for _, s := range st {
			s = oneLine(s)
			if i := strings.Index(s, "query="); i >= 0 {
				s = s[i+6:]
			}
			if len(s) > 90 {
				s = s[:90]
			}
			kinds[s]++
		}
		var ks []string
		for k, n := range kinds {
			if n > 2 {
				ks = append(ks, k)
			}
		}
		sort.Strings(ks)
		t.Logf("round %d: send %s, all %s, %d statements", r, sent, d, len(st))
		for _, k := range ks {
			t.Logf("  %4d %s", kinds[k], k)
		}
	}
}
