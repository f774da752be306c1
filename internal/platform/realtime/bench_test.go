package realtime_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/parley-im/parley/internal/platform/realtime"
)

// memLog is an in-memory event log for benchmarks: appends are visible at
// once, in id order.
type memLog struct {
	mu     sync.Mutex
	events []realtime.Event
}

func (l *memLog) append(topic string) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	id := int64(len(l.events) + 1)
	l.events = append(l.events, realtime.Event{ID: id, Topic: topic, Kind: "message.created", Payload: []byte(`{"actor":1,"subject":2}`)})
	return id
}

func (l *memLog) Head(context.Context) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return int64(len(l.events)), nil
}

func (l *memLog) After(_ context.Context, after int64, limit int) ([]realtime.Event, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if after >= int64(len(l.events)) {
		return nil, nil
	}
	out := l.events[after:]
	if len(out) > limit {
		out = out[:limit]
	}
	return append([]realtime.Event(nil), out...), nil
}

func (l *memLog) Replay(ctx context.Context, topics []string, after, upto int64, limit int) ([]realtime.Event, error) {
	return nil, nil
}

// BenchmarkHubFanout measures the hub alone: one event on a topic with n
// subscribers, from Notify to the last subscriber's channel (the database
// and GraphQL are not involved). Run with -bench HubFanout.
func BenchmarkHubFanout(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("subscribers=%d", n), func(b *testing.B) {
			log := &memLog{}
			bus := realtime.NewLocalBus()
			defer bus.Close()
			hub := realtime.NewHub(log, bus, realtime.HubOptions{})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go hub.Run(ctx)
			subs := make([]*realtime.Subscription, n)
			for i := range subs {
				s, err := hub.Subscribe(ctx, []string{"conversation:1"}, 0)
				if err != nil {
					b.Fatal(err)
				}
				subs[i] = s
			}
			var wg sync.WaitGroup
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				wg.Add(n)
				for _, s := range subs {
					go func() { <-s.C(); wg.Done() }()
				}
				head := log.append("conversation:1")
				if err := hub.Notify(ctx, head); err != nil {
					b.Fatal(err)
				}
				wg.Wait()
			}
			b.StopTimer()
			b.ReportMetric(float64(n), "deliveries/op")
		})
	}
}
