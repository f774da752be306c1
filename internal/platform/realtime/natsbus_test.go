package realtime

import (
	"context"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const defaultTestNATSURL = "nats://127.0.0.1:4222"

// testNATS returns TEST_NATS_URL (or the local default), skipping the test
// when no NATS server answers there, and failing it when TEST_NATS_URL is
// set (CI sets it and starts the server).
func testNATS(t *testing.T) string {
	t.Helper()
	url := os.Getenv("TEST_NATS_URL")
	if url == "" {
		url = defaultTestNATSURL
	}
	bus, err := NewNATSBus(url, uniqueName("rt_probe"), nil)
	if err != nil {
		if os.Getenv("TEST_NATS_URL") != "" {
			t.Fatalf("TEST_NATS_URL is set but NATS does not answer: %v", err)
		}
		t.Skipf("no NATS at %s: %v", url, err)
	}
	bus.Close()
	return url
}

func newTestNATSBus(t *testing.T, url, subject string) *NATSBus {
	t.Helper()
	bus, err := NewNATSBus(url, subject, nil)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, bus.Close()) })
	return bus
}

func TestNATSBusBetweenInstances(t *testing.T) {
	url := testNATS(t)
	busesBetweenInstances(t, func(subject string) Bus { return newTestNATSBus(t, url, subject) })
}

func TestHubsAcrossInstancesOverNATS(t *testing.T) {
	url := testNATS(t)
	hubsAcrossInstances(t, func(subject string) Bus { return newTestNATSBus(t, url, subject) })
}

func TestNATSBusConstruction(t *testing.T) {
	url := testNATS(t)
	_, err := NewNATSBus(url, "parley.*", nil)
	assert.Error(t, err, "a wildcard is not a subject to publish on")

	closed, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	nobody := closed.Addr().String()
	closed.Close()
	_, err = NewNATSBus("nats://"+nobody, "rt_test", nil)
	assert.Error(t, err, "the first connection fails")

	bus, err := NewNATSBus(url, uniqueName("rt_test"), nil)
	require.NoError(t, err)
	require.NoError(t, bus.Close())
	require.NoError(t, bus.Close())
	assert.False(t, bus.Healthy())
	assert.ErrorIs(t, bus.Publish(context.Background(), Signal{Head: 1}), ErrBusClosed)
}

// TestNATSBusReconnects cuts the bus's connection (it runs through a proxy
// the test controls) and refuses new ones for a while: Healthy must report
// the outage, and after the reconnect the hub is told to re-poll and
// signals flow again.
func TestNATSBusReconnects(t *testing.T) {
	url := testNATS(t)
	proxy := newCutProxy(t, url[len("nats://"):])
	subject := uniqueName("rt_test")
	listener := newTestNATSBus(t, "nats://"+proxy.addr(), subject)
	publisher := newTestNATSBus(t, url, subject)
	require.True(t, listener.Healthy())

	proxy.cut()
	require.Eventually(t, func() bool { return !listener.Healthy() }, 5*time.Second, 5*time.Millisecond)
	assert.True(t, publisher.Healthy())

	proxy.open()
	require.Eventually(t, listener.Healthy, 10*time.Second, 5*time.Millisecond)
	assert.Equal(t, Signal{Head: -1}, next(t, listener))

	// The listener's subscription is restored on the new connection.
	// Until it is, a publish reaches nobody; publish again until one does.
	require.Eventually(t, func() bool {
		if publisher.Publish(context.Background(), Signal{Head: 7}) != nil {
			return false
		}
		select {
		case s := <-listener.Signals():
			return s == Signal{Head: 7}
		case <-time.After(100 * time.Millisecond):
			return false
		}
	}, 10*time.Second, time.Millisecond)
}

// cutProxy forwards loopback TCP connections to target until cut, which
// closes them all and refuses new ones (accepting and closing at once)
// until open.
type cutProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  []net.Conn
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &cutProxy{ln: ln, target: target}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go p.serve()
	return p
}

func (p *cutProxy) addr() string { return p.ln.Addr().String() }

func (p *cutProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		down := p.down
		p.mu.Unlock()
		if down {
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		go func() { io.Copy(up, c); up.Close() }()
		go func() { io.Copy(c, up); c.Close() }()
	}
}

func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *cutProxy) open() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = false
}
