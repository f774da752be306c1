package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Benchmarks of the hot paths, end to end over real HTTP and WebSocket
// against an in-process server: on PostgreSQL when TEST_DATABASE_URL is set
// (a scratch schema, dropped afterwards), on SQLite otherwise. They run only
// with -bench, e.g.
//
//	TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/parley_test?sslmode=disable \
//	  go test ./server/load -run '^$' -bench . -benchtime 200x
//
// The load tool (go run ./server/load) measures the same paths at scale and
// beside their baselines; these give quick before/after numbers for a change.

type benchEnv struct {
	e   *env
	cli *api
}

func newBenchEnv(b *testing.B) *benchEnv {
	b.Helper()
	ctx := context.Background()
	e := &env{opt: options{}, report: newReport()}
	dbURL := ""
	if base := os.Getenv("TEST_DATABASE_URL"); base != "" {
		db, err := newSchema(ctx, base, false)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(db.Close)
		e.db, e.dbURL, dbURL = db, db.url, db.url
	}
	p, err := startInProcess(ctx, dbURL, randomSecret(), nil, "")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(p.Close)
	e.proc, e.base = p, p.base
	return &benchEnv{e: e, cli: newAPI(p.base, 16)}
}

func (be *benchEnv) users(b *testing.B, prefix string, n int) []user {
	b.Helper()
	us, err := be.cli.registerMany(context.Background(), prefix, n, 4)
	if err != nil {
		b.Fatal(err)
	}
	return us
}

// BenchmarkSendMessage: sendMessage on open direct conversations, from
// parallel senders (GOMAXPROCS × -cpu goroutines, one conversation each).
func BenchmarkSendMessage(b *testing.B) {
	be := newBenchEnv(b)
	ctx := context.Background()
	const pairs = 16
	us := be.users(b, "bsend", 2*pairs)
	for i := 0; i < pairs; i++ {
		if _, err := be.cli.sendMessage(ctx, us[2*i], us[2*i+1].ID, "open", ""); err != nil {
			b.Fatal(err)
		}
	}
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(1)-1) % pairs
		k := 0
		for pb.Next() {
			k++
			if _, err := be.cli.sendMessage(ctx, us[2*i], us[2*i+1].ID, "bench", fmt.Sprintf("b-%d-%d-%d", b.N, i, k)); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkSendToReceipt: one message sent, then received by the peer's
// events subscription; one at a time.
func BenchmarkSendToReceipt(b *testing.B) {
	be := newBenchEnv(b)
	ctx := context.Background()
	us := be.users(b, "brcpt", 2)
	if _, err := be.cli.sendMessage(ctx, us[0], us[1].ID, "open", ""); err != nil {
		b.Fatal(err)
	}
	got := make(chan string, 16)
	s, err := subscribe(ctx, wsDialer(nil), be.e.base, us[1].Token, eventsSubscription, func(ev event) {
		if ev.Node != nil {
			got <- ev.Node.Text
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := waitLive(be.e, 1); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		text := "r" + strconv.Itoa(i)
		if _, err := be.cli.sendMessage(ctx, us[0], us[1].ID, text, ""); err != nil {
			b.Fatal(err)
		}
		for t := range got {
			if t == text {
				break
			}
		}
	}
}

// BenchmarkHistoryPage: the load tool's history page (50 messages with
// sender and quote) from parallel readers.
func BenchmarkHistoryPage(b *testing.B) {
	be := newBenchEnv(b)
	ctx := context.Background()
	us := be.users(b, "bhist", 2)
	var ids []string
	for i := 0; i < 60; i++ {
		q := ""
		if i%3 == 2 {
			q = ids[i-2]
		}
		m, err := be.cli.sendQuote(ctx, us[i%2], us[(i+1)%2].ID, "history "+strconv.Itoa(i), q)
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	conv, err := directConversation(ctx, be.cli, us[0], us[1].ID)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := historyPage(ctx, be.cli, us[0], conv); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkGroupFanout: one group message to n subscribed members, until
// the last one has it.
func BenchmarkGroupFanout(b *testing.B) {
	for _, n := range []int{10, 100} {
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) {
			be := newBenchEnv(b)
			ctx := context.Background()
			us := be.users(b, "bfan", n)
			group, err := makeGroup(ctx, be.cli, us, "bench")
			if err != nil {
				b.Fatal(err)
			}
			var wg sync.WaitGroup
			var want atomic.Value
			want.Store("")
			for _, u := range us {
				s, err := subscribe(ctx, wsDialer(nil), be.e.base, u.Token, eventsSubscription, func(ev event) {
					if ev.Node != nil && ev.Node.Text == want.Load().(string) {
						wg.Done()
					}
				})
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
			}
			if err := waitLive(be.e, n); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				text := "g" + strconv.Itoa(i)
				want.Store(text)
				wg.Add(n)
				if _, err := be.cli.sendGroup(ctx, us[0], group, text); err != nil {
					b.Fatal(err)
				}
				done := make(chan struct{})
				go func() { wg.Wait(); close(done) }()
				select {
				case <-done:
				case <-time.After(30 * time.Second):
					b.Fatal("not every member received the message in 30 s")
				}
			}
			b.ReportMetric(float64(n), "deliveries/op")
		})
	}
}
