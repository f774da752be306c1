package graph

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPresentData: the ids of event data, at any depth and in lists, are
// given as global id strings; other numbers, strings and nulls are kept.
func TestPresentData(t *testing.T) {
	got, err := presentData(json.RawMessage(`{"userId": 12, "seq": 9007199254740993, "id": 3,
		"messageIds": [4, 5], "who": {"groupId": 6, "name": "x"}, "items": [{"roomId": 7}],
		"inviteId": "8", "quoteId": null, "forEveryone": true}`))
	require.NoError(t, err)
	out, err := json.Marshal(got)
	require.NoError(t, err)
	require.JSONEq(t, `{"userId": "12", "seq": 9007199254740993, "id": "3",
		"messageIds": ["4", "5"], "who": {"groupId": "6", "name": "x"}, "items": [{"roomId": "7"}],
		"inviteId": "8", "quoteId": null, "forEveryone": true}`, string(out))
	_, err = presentData(json.RawMessage(`[1]`))
	require.Error(t, err)
}
