package presence

import (
	"context"
	"slices"
	"sync"
	"time"
)

// loader batches look-ups by key: calls that arrive within wait of the first
// one (or until max keys) share one fetch. gqlgen resolves the fields of a
// list's objects concurrently, so User.online over a friend list costs one
// query instead of one per friend. Results are not cached: every batch reads
// the database afresh.
type loader struct {
	wait  time.Duration
	max   int
	fetch func(ctx context.Context, keys []int) (map[int]State, error)

	mu  sync.Mutex
	cur *batch // collecting keys; nil when none is
}

type batch struct {
	keys []int
	once sync.Once
	done chan struct{} // closed when res and err are set
	res  map[int]State
	err  error
}

// load returns fetch's answer for key.
func (l *loader) load(ctx context.Context, key int) (State, error) {
	l.mu.Lock()
	b := l.cur
	if b == nil {
		b = &batch{done: make(chan struct{})}
		l.cur = b
		time.AfterFunc(l.wait, func() { l.run(b) })
	}
	b.keys = append(b.keys, key)
	full := len(b.keys) >= l.max
	if full {
		l.cur = nil
	}
	l.mu.Unlock()
	if full {
		l.run(b)
	}
	select {
	case <-b.done:
		return b.res[key], b.err
	case <-ctx.Done():
		return State{}, ctx.Err()
	}
}

// run fetches b once, after detaching it so that no key is added meanwhile.
// The fetch is not bound to any one caller's context: others wait for it.
func (l *loader) run(b *batch) {
	l.mu.Lock()
	if l.cur == b {
		l.cur = nil
	}
	l.mu.Unlock()
	b.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
		defer cancel()
		b.res, b.err = l.fetch(ctx, slices.Compact(slices.Sorted(slices.Values(b.keys))))
		close(b.done)
	})
}
