package realtime

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// add appends ev to the log with the next id.
func (f *fakeSource) add(ev Event) Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	ev.ID = int64(len(f.events) + 1)
	if ev.Kind == "" {
		ev.Kind = "message.created"
	}
	ev.Payload = json.RawMessage(`{}`)
	f.events = append(f.events, ev)
	return ev
}

func joined(topic string) Event { return Event{Topic: "user:7", Kind: "member.joined", Join: topic} }
func left(topic string) Event   { return Event{Topic: "user:7", Kind: "member.left", Leave: topic} }
func message(topic string) Event {
	return Event{Topic: topic, Kind: "message.created"}
}

// TestLeaveThenJoinInLogOrder: a leave followed at once by a join of the
// same topic, both dispatched before the consumer reads either, leaves the
// topic held; what the topic carried between them is not delivered.
func TestLeaveThenJoinInLogOrder(t *testing.T) {
	src := &fakeSource{}
	hub := startHub(t, src, HubOptions{PollInterval: time.Hour})
	sub := subscribe(t, hub, []string{"user:7", "conversation:1"}, 0)

	leave := src.add(left("conversation:1"))
	src.add(message("conversation:1")) // while he is out
	join := src.add(joined("conversation:1"))
	after := src.add(message("conversation:1"))
	require.NoError(t, hub.Notify(context.Background(), after.ID))
	waitPosition(t, hub, after.ID)
	assert.True(t, sub.Has("conversation:1"), "the join follows the leave")
	assert.Equal(t, []int64{leave.ID, join.ID, after.ID}, ids(receive(t, sub, 3)))

	// Leaving for good: nothing more of the topic.
	gone := src.add(left("conversation:1"))
	src.add(message("conversation:1"))
	last := src.add(message("user:7"))
	require.NoError(t, hub.Notify(context.Background(), last.ID))
	assert.Equal(t, []int64{gone.ID, last.ID}, ids(receive(t, sub, 2)))
	assert.False(t, sub.Has("conversation:1"))
	assert.Equal(t, 1, hub.Stats().Topics)
}

// TestReplayFollowsLeaves: a resume replays a topic up to its leave and from
// a later join on, and the subscription goes live holding the topics it
// held at the end of the replay.
func TestReplayFollowsLeaves(t *testing.T) {
	src := &fakeSource{}
	var want []int64
	want = append(want, src.add(message("conversation:1")).ID)
	want = append(want, src.add(left("conversation:1")).ID)
	src.add(message("conversation:1"))
	want = append(want, src.add(joined("conversation:1")).ID)
	want = append(want, src.add(message("conversation:1")).ID)
	want = append(want, src.add(left("conversation:1")).ID)
	src.add(message("conversation:1"))
	hub := startHub(t, src, HubOptions{PollInterval: time.Hour, BatchSize: 2})
	// The topics are read when subscribing, here before the last leave
	// reached the subscriber's view: the replay corrects them.
	sub := subscribe(t, hub, []string{"user:7", "conversation:1"}, 0)
	assert.Equal(t, want, ids(receive(t, sub, len(want))))

	src.add(message("conversation:1"))
	last := src.add(message("user:7"))
	require.NoError(t, hub.Notify(context.Background(), last.ID))
	assert.Equal(t, []int64{last.ID}, ids(receive(t, sub, 1)))
	assert.False(t, sub.Has("conversation:1"))
	assertNothing(t, sub)
}

// gatedSource holds every Replay until open is closed, so that dispatch
// passes live events while a subscription replays.
type gatedSource struct {
	fakeSource
	open chan struct{}
}

func (g *gatedSource) Replay(ctx context.Context, topics []string, after, upto int64, limit int) ([]Event, error) {
	select {
	case <-g.open:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return g.fakeSource.Replay(ctx, topics, after, upto, limit)
}

// TestReplaySettlesWithDispatch: while a subscription replays, dispatch
// follows the joins and leaves of live events on the topics it was given;
// once the replay has followed those it read, the later change of each
// topic stands, whichever of the two saw it.
func TestReplaySettlesWithDispatch(t *testing.T) {
	t.Run("left in the replay, joined again live", func(t *testing.T) {
		src, hub, sub, leave := gatedReplay(t, left("conversation:1"), "user:7", "conversation:1")
		src.add(message("conversation:1")) // while he is out: dropped
		join := src.add(joined("conversation:1"))
		after := src.add(message("conversation:1"))
		release(t, hub, src, after)
		assert.Equal(t, []int64{leave.ID, join.ID, after.ID}, ids(receive(t, sub, 3)))
		assertNothing(t, sub)
		assert.True(t, sub.Has("conversation:1"))
	})
	t.Run("left in the replay", func(t *testing.T) {
		src, hub, sub, leave := gatedReplay(t, left("conversation:1"), "user:7", "conversation:1")
		release(t, hub, src, src.add(message("conversation:1"))) // dropped
		assert.Equal(t, []int64{leave.ID}, ids(receive(t, sub, 1)))
		assertNothing(t, sub)
		requireOut(t, hub, src, sub, "conversation:1")
	})
	t.Run("joined in the replay, left live", func(t *testing.T) {
		src, hub, sub, join := gatedReplay(t, joined("conversation:2"), "user:7")
		in := src.add(message("conversation:2")) // from the log: he is in
		leave := src.add(left("conversation:2"))
		release(t, hub, src, src.add(message("conversation:2"))) // he is out
		assert.Equal(t, []int64{join.ID, in.ID, leave.ID}, ids(receive(t, sub, 3)))
		assertNothing(t, sub)
		requireOut(t, hub, src, sub, "conversation:2")
	})
}

// gatedReplay starts a hub on a log holding first and subscribes to topics
// from the start of the log: the replay waits until release.
func gatedReplay(t *testing.T, first Event, topics ...string) (*gatedSource, *Hub, *Subscription, Event) {
	t.Helper()
	src := &gatedSource{open: make(chan struct{})}
	first = src.add(first)
	hub := startHub(t, src, HubOptions{PollInterval: time.Hour})
	return src, hub, subscribe(t, hub, topics, 0), first
}

// release lets the replay run once the hub has dispatched the log up to
// last.
func release(t *testing.T, hub *Hub, src *gatedSource, last Event) {
	t.Helper()
	require.NoError(t, hub.Notify(context.Background(), last.ID))
	waitPosition(t, hub, last.ID)
	close(src.open)
}

// requireOut checks that sub has left topic: it says so, and a message on
// topic does not reach it where one on its user's topic after it does.
func requireOut(t *testing.T, hub *Hub, src *gatedSource, sub *Subscription, topic string) {
	t.Helper()
	assert.False(t, sub.Has(topic))
	src.add(message(topic))
	last := src.add(message("user:7"))
	require.NoError(t, hub.Notify(context.Background(), last.ID))
	assert.Equal(t, []int64{last.ID}, ids(receive(t, sub, 1)))
}
