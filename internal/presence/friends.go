package presence

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/friendship"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/platform/eventlog"
)

// Topics returns the topics of uid's presence stream, and his friends: each
// friend's presence topic, and uid's own user topic, which carries
// friend.added and friend.deleted so that the stream follows his friend
// list. ctx is uid's: the Friendship policy shows him his own rows only.
func Topics(ctx context.Context, client *ent.Client, uid int) (topics []string, friends []int, err error) {
	friends, err = client.Friendship.Query().Where(friendship.UserID(uid)).
		Select(friendship.FieldFriendID).Ints(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("presence: friends: %w", err)
	}
	topics = make([]string, 0, len(friends)+1)
	topics = append(topics, eventlog.UserTopic(uid))
	for _, f := range friends {
		topics = append(topics, eventlog.PresenceTopic(f))
	}
	return topics, friends, nil
}

// Friend returns the other user of a friend.added or friend.deleted event
// on uid's user topic: its data's userId, or else the other side of the
// friendship row a friend.added is about (p.Subject), or 0. (A
// friend.deleted's subject is the former friend himself, and its data
// always names him.)
func Friend(ctx context.Context, client *ent.Client, uid int, p eventlog.Payload) int {
	var d struct {
		UserID json.Number `json:"userId"`
	}
	if len(p.Data) > 0 && json.Unmarshal(p.Data, &d) == nil {
		if id, err := d.UserID.Int64(); err == nil && id != 0 {
			return int(id)
		}
	}
	if p.Subject == 0 {
		return 0
	}
	// Either row of the pair names both users; the event came on uid's own
	// topic, so reading it as the system shows nothing he may not know.
	f, err := client.Friendship.Get(viewer.SystemContext(ctx), p.Subject)
	switch {
	case err != nil:
		return 0
	case f.UserID == uid:
		return f.FriendID
	case f.FriendID == uid:
		return f.UserID
	}
	return 0
}
