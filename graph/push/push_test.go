package push_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/parley-im/parley/graph/push"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestFromContext(t *testing.T) {
	if push.FromContext(context.Background()) != nil {
		t.Fatal("an Op in a bare context")
	}
	op := &push.Op{}
	if push.FromContext(push.NewContext(context.Background(), op)) != op {
		t.Fatal("the Op is not the one put in")
	}
	if op.Driven() {
		t.Fatal("driven before Drive")
	}
}

// TestWakesStepWithoutOverlap: wakes from many goroutines, before and
// after Start, each lead to a step that sees the values produced by then;
// steps never overlap, none runs after the step that closed, and no
// goroutine is left (goleak).
func TestWakesStepWithoutOverlap(t *testing.T) {
	op := &push.Op{}
	var produced, consumed atomic.Int64
	var inStep atomic.Int32
	var closed atomic.Bool
	var stepsAfterClose atomic.Int32
	const total = 1000
	op.Drive(func() (int, bool) {
		if inStep.Add(1) != 1 {
			t.Error("steps overlap")
		}
		defer inStep.Add(-1)
		if closed.Load() {
			stepsAfterClose.Add(1)
		}
		n := produced.Load() - consumed.Load()
		consumed.Add(n)
		if consumed.Load() == total {
			closed.Store(true)
			return int(n), true
		}
		return int(n), false
	})
	op.Wake() // before Start: remembered
	delivered := make(chan int, total)
	finished := make(chan struct{})
	go op.Start(func(sent int, end bool) {
		for range sent {
			delivered <- 1
		}
		if end {
			close(finished)
		}
	})
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			for range total / 10 {
				produced.Add(1)
				op.Wake()
			}
		})
	}
	wg.Wait()
	select {
	case <-finished:
	case <-time.After(5 * time.Second):
		t.Fatalf("not finished: %d of %d consumed", consumed.Load(), total)
	}
	op.Wake() // after the end: ignored
	time.Sleep(10 * time.Millisecond)
	if len(delivered) != total {
		t.Fatalf("delivered %d, want %d", len(delivered), total)
	}
	if stepsAfterClose.Load() != 0 {
		t.Fatal("a step ran after the stream closed")
	}
}
