// Package ratelimit holds the per-process rate limits (Buckets) and the
// per-user write budget (Budget) that the domain packages spend from. The
// limits that must hold across instances are kept in the database by the
// packages that own them (password guesses in internal/auth, SMS codes in
// internal/verify).
package ratelimit

import (
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// Buckets is a token bucket per key (an address, a user), kept in this
// process's memory: burst attempts at once, refilled one per every. It
// answers without touching the database, so it is the first line against a
// flood; each instance counts on its own, so with N instances a client
// that spreads his requests gets up to N times the budget.
//
// Keys live in an LRU of 100,000, so that a client cycling through keys
// cannot grow memory without bound; an evicted key starts again full.
// A nil *Buckets allows everything, which is how a limit is switched off.
type Buckets struct {
	mu    sync.Mutex
	keys  *lru.Cache[string, *bucket]
	burst float64
	every time.Duration
	now   func() time.Time
}

// bucket is one key's tokens as of at.
type bucket struct {
	tokens float64
	at     time.Time
}

// NewBuckets allows burst at once per key, refilled one per every. A burst
// or interval of zero or less returns nil: no limit.
func NewBuckets(burst int, every time.Duration) *Buckets {
	if burst <= 0 || every <= 0 {
		return nil
	}
	c, _ := lru.New[string, *bucket](100_000)
	return &Buckets{keys: c, burst: float64(burst), every: every, now: time.Now}
}

// PerMinute allows n per minute per key, all of them at once if need be:
// NewBuckets(n, time.Minute/n). Zero or less is no limit.
func PerMinute(n int) *Buckets {
	if n <= 0 {
		return nil
	}
	return NewBuckets(n, time.Minute/time.Duration(n))
}

// Take spends n tokens of key. While the bucket holds at least one token
// it allows the spending even past what is left, leaving the bucket in
// debt, so that one large write (an import of many items) is not refused
// forever by a burst smaller than itself; the key then waits until the debt
// is paid back. When the bucket holds less than one token it refuses and
// says how long until it holds one.
func (b *Buckets) Take(key string, n int) (ok bool, retry time.Duration) {
	if b == nil {
		return true, 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	k := b.fill(key, now)
	if k.tokens < 1 {
		return false, time.Duration((1 - k.tokens) * float64(b.every))
	}
	k.tokens -= float64(n)
	return true, 0
}

// Refund gives back n tokens of key, up to the burst: an attempt that
// turned out legitimate (a correct password) does not count.
func (b *Buckets) Refund(key string, n int) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	k := b.fill(key, b.now())
	k.tokens = min(b.burst, k.tokens+float64(n))
}

// fill returns key's bucket refilled up to now; b.mu is held.
func (b *Buckets) fill(key string, now time.Time) *bucket {
	k, ok := b.keys.Get(key)
	if !ok {
		k = &bucket{tokens: b.burst, at: now}
		b.keys.Add(key, k)
		return k
	}
	if elapsed := now.Sub(k.at); elapsed > 0 {
		k.tokens = min(b.burst, k.tokens+float64(elapsed)/float64(b.every))
		k.at = now
	}
	return k
}
