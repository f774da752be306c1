package auth

import (
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/time/rate"
)

// Limiter bounds sign-in attempts per key (an account, an address) with a
// token bucket per key. Keys are kept in an LRU so that an attacker cycling
// through names cannot grow memory without bound. It is per process: with
// several instances an attacker gets N times the budget, which is still
// bounded; a shared limiter would need the database on every attempt.
type Limiter struct {
	mu      sync.Mutex
	buckets *lru.Cache[string, *rate.Limiter]
	every   time.Duration
	burst   int
}

// NewLimiter allows burst attempts per key, refilled one per every.
func NewLimiter(every time.Duration, burst int) *Limiter {
	c, _ := lru.New[string, *rate.Limiter](100_000)
	return &Limiter{buckets: c, every: every, burst: burst}
}

// Allow reports whether key may try now, and consumes one attempt.
func (l *Limiter) Allow(key string) bool {
	l.mu.Lock()
	b, ok := l.buckets.Get(key)
	if !ok {
		b = rate.NewLimiter(rate.Every(l.every), l.burst)
		l.buckets.Add(key, b)
	}
	l.mu.Unlock()
	return b.Allow()
}
