package realtime

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestSubscriptionHas: Has follows the topics given, joined by an event's
// Join, removed, and reports nothing once the subscription has ended.
func TestSubscriptionHas(t *testing.T) {
	src := &fakeSource{}
	hub := startHub(t, src, HubOptions{PollInterval: time.Hour})
	sub := subscribe(t, hub, []string{"user:7", "conversation:1"}, 0)
	assert.True(t, sub.Has("user:7"))
	assert.True(t, sub.Has("conversation:1"))
	assert.False(t, sub.Has("conversation:2"))

	// A join travels on an event: the topic is held from its dispatch on.
	src.mu.Lock()
	ev := Event{ID: int64(len(src.events) + 1), Topic: "user:7", Kind: "member.joined", Join: "conversation:2", Payload: []byte(`{}`)}
	src.events = append(src.events, ev)
	src.mu.Unlock()
	assert.NoError(t, hub.Notify(t.Context(), ev.ID))
	receive(t, sub, 1)
	assert.True(t, sub.Has("conversation:2"))

	sub.RemoveTopic("conversation:1")
	assert.False(t, sub.Has("conversation:1"))

	sub.Close()
	assert.False(t, sub.Has("user:7"), "an ended subscription holds nothing")
}
