package realtime

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMergeByID: a replay's gap events (joined topics) and the live events
// held meanwhile interleave by id, without duplicates, ephemeral ones kept.
func TestMergeByID(t *testing.T) {
	ev := func(ids ...int64) []Event {
		out := make([]Event, len(ids))
		for i, id := range ids {
			out[i] = Event{ID: id}
		}
		return out
	}
	ids := func(events []Event) []int64 {
		out := make([]int64, len(events))
		for i, e := range events {
			out[i] = e.ID
		}
		return out
	}
	cases := []struct {
		name string
		a, b []Event
		want []int64
	}{
		{"empty", nil, nil, []int64{}},
		{"only held", ev(5, 7), nil, []int64{5, 7}},
		{"only gap", nil, ev(4, 6), []int64{4, 6}},
		{"interleaved", ev(5, 7, 9), ev(4, 6, 8), []int64{4, 5, 6, 7, 8, 9}},
		{"duplicates dropped", ev(5, 6, 7), ev(6, 7, 8), []int64{5, 6, 7, 8}},
		{"ephemeral kept in place", ev(5, 0, 7), ev(6), []int64{5, 0, 6, 7}},
	}
	for _, c := range cases {
		require.Equal(t, c.want, ids(mergeByID(c.a, c.b)), c.name)
	}
}
