package app_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/server/apptest"
)

// This file tests the one visibility rule of messages and files: a member
// sees a conversation from his visibility floor on (a group's from his
// joining), whatever the path: history, node, nodes, nested edges, quotes,
// a stream's replay, downloads.

// floorSeen is what one user can reach of one message or file.
type floorSeen struct {
	history, node, nodes, edge bool
}

// pathsSeeing reports every path by which a sees message id in conversation conv.
func (k grpKit) pathsSeeing(a account, conv, groupID, id string) floorSeen {
	k.T.Helper()
	var seen floorSeen
	for _, m := range k.lastMessages(a, conv) {
		seen.history = seen.history || m.ID == id
	}
	r := k.Do(a.Token, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": id})
	seen.node = len(r.Errors) == 0 && strings.Contains(string(r.Data), id)
	if !seen.node {
		require.Equal(k.T, "NOT_FOUND", r.Code(), "a hidden node is as missing as a missing one")
	}
	r = k.Do(a.Token, `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, map[string]any{"ids": []string{id}})
	seen.nodes = strings.Contains(string(r.Data), id)
	var edge struct {
		Group struct {
			Conversation struct {
				Messages struct {
					Edges []struct{ Node struct{ ID string } }
				}
			}
		}
	}
	k.OK(a.Token, `query($g: ID!) { group(id: $g) { conversation { messages(first: 100) { edges { node { id } } } } } }`, map[string]any{"g": groupID}, &edge)
	for _, e := range edge.Group.Conversation.Messages.Edges {
		seen.edge = seen.edge || e.Node.ID == id
	}
	return seen
}

// sendFile posts a file to a group and returns the message and the file.
func (k grpKit) sendFile(from account, groupID, name string) (sentMessage, uploaded) {
	k.T.Helper()
	f := k.upload(from.Token, "file", name, []byte("%PDF-1.4 "+name))
	m := k.sendIn(from, map[string]any{"groupId": groupID, "parts": []map[string]any{{"category": "file", "fileId": f.ID}}})
	return m, f
}

// replayed returns the message ids a fresh events(after: "1") stream of a
// replays, up to the message marker (sent last, so the replay is over).
func (k grpKit) replayed(a account, groupID string) []string {
	k.T.Helper()
	c := k.MustDialWith("graphql-transport-ws", a.Token)
	c.Subscribe("r", apptest.EventsSubscription, map[string]any{"after": "1"})
	k.WaitSubscriptions(1)
	marker := k.sendIn(a, map[string]any{"groupId": groupID, "text": "marker"})
	var ids []string
	for {
		f, err := c.Read()
		require.NoError(k.T, err)
		require.Equal(k.T, "next", f.Type, "%s", f.Payload)
		var p struct {
			Data struct{ Events apptest.Event }
		}
		require.NoError(k.T, json.Unmarshal(f.Payload, &p))
		if ev := p.Data.Events; ev.Kind == "MESSAGE_CREATED" && ev.Node != nil {
			if ev.Node.ID == marker.ID {
				c.Close()
				return ids
			}
			ids = append(ids, ev.Node.ID)
		}
	}
}

// TestVisibilityFloor: a group's new member, and a removed member who comes
// back, see the group from their joining on by every path, files included;
// those who were there all along see everything.
func TestVisibilityFloor(t *testing.T) {
	eachKit(t, newGrpKit, func(t *testing.T, k grpKit) {
		ann, bob, cat := k.trio()
		g := k.group(ann, "approval", bob)
		old := k.sendIn(ann, map[string]any{"groupId": g.ID, "text": "before cat"})
		oldFileMsg, oldFile := k.sendFile(ann, g.ID, "before.pdf")

		k.OK(ann.Token, `mutation($g: ID!, $u: [ID!]!) { inviteToGroup(groupId: $g, userIds: $u) { id } }`, map[string]any{"g": g.ID, "u": []string{cat.ID}}, nil)
		after := k.sendIn(ann, map[string]any{"groupId": g.ID, "text": "after cat", "quoteId": old.ID})

		// Bob was there all along: everything, by every path.
		for _, id := range []string{old.ID, oldFileMsg.ID, after.ID} {
			require.Equal(t, floorSeen{true, true, true, true}, k.pathsSeeing(bob, g.ConversationID, g.ID, id), "bob, %s", id)
		}
		// Cat sees from his joining on, by every path.
		for _, id := range []string{old.ID, oldFileMsg.ID} {
			require.Equal(t, floorSeen{}, k.pathsSeeing(cat, g.ConversationID, g.ID, id), "cat must not reach %s", id)
		}
		require.Equal(t, floorSeen{true, true, true, true}, k.pathsSeeing(cat, g.ConversationID, g.ID, after.ID))
		// A quote of an older message shows nothing of it to him.
		var quoted struct {
			Node struct{ Quote *struct{ ID string } }
		}
		k.OK(cat.Token, `query($id: ID!) { node(id: $id) { ... on Message { quote { id } } } }`, map[string]any{"id": after.ID}, &quoted)
		require.Nil(t, quoted.Node.Quote)
		k.OK(bob.Token, `query($id: ID!) { node(id: $id) { ... on Message { quote { id } } } }`, map[string]any{"id": after.ID}, &quoted)
		require.NotNil(t, quoted.Node.Quote)

		// The file sent before he joined: neither its node nor its bytes.
		r := k.Do(cat.Token, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": oldFile.ID})
		require.Equal(t, "NOT_FOUND", r.Code())
		res, _ := k.Get("/files/"+oldFile.ID+"/before.pdf", cat.Token, nil)
		require.Equal(t, http.StatusNotFound, res.StatusCode)
		res, body := k.Get("/files/"+oldFile.ID+"/before.pdf", bob.Token, nil)
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.Equal(t, "%PDF-1.4 before.pdf", string(body))
		_, newFile := k.sendFile(ann, g.ID, "after.pdf")
		res, _ = k.Get("/files/"+newFile.ID+"/after.pdf", cat.Token, nil)
		require.Equal(t, http.StatusOK, res.StatusCode, "a file sent after he joined is his to read")

		// A replay from before he joined brings only what he may see.
		require.NotContains(t, k.replayed(cat, g.ID), old.ID)
		require.Contains(t, k.replayed(bob, g.ID), old.ID)

		// Bob is removed; what is sent while he is out stays out of his
		// reach when he is invited back, and so does what came before.
		k.OK(ann.Token, `mutation($g: ID!, $u: [ID!]!) { removeGroupMembers(groupId: $g, userIds: $u) { id } }`, map[string]any{"g": g.ID, "u": []string{bob.ID}}, nil)
		out := k.sendIn(ann, map[string]any{"groupId": g.ID, "text": "while bob is out"})
		_, outFile := k.sendFile(ann, g.ID, "out.pdf")
		k.OK(ann.Token, `mutation($g: ID!, $u: [ID!]!) { inviteToGroup(groupId: $g, userIds: $u) { id } }`, map[string]any{"g": g.ID, "u": []string{bob.ID}}, nil)
		back := k.sendIn(ann, map[string]any{"groupId": g.ID, "text": "bob is back"})
		for _, id := range []string{out.ID, old.ID} {
			require.Equal(t, floorSeen{}, k.pathsSeeing(bob, g.ConversationID, g.ID, id), "bob must not reach %s after coming back", id)
		}
		require.Equal(t, floorSeen{true, true, true, true}, k.pathsSeeing(bob, g.ConversationID, g.ID, back.ID))
		res, _ = k.Get("/files/"+outFile.ID+"/out.pdf", bob.Token, nil)
		require.Equal(t, http.StatusNotFound, res.StatusCode)
		replay := k.replayed(bob, g.ID)
		require.NotContains(t, replay, out.ID)
		require.NotContains(t, replay, old.ID)
		require.Contains(t, replay, back.ID)
	})
}
