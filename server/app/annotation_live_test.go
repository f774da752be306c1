package app_test

// Tests of live collaboration: the projectChanges subscription.

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/server/apptest"
)

const annChanges = `subscription($p: ID!, $after: String) { projectChanges(projectId: $p, after: $after) {
	cursor kind subjectId reason data
	node { __typename id ... on Text { name } ... on Entity { name } ... on RelationType { name } ... on Relation { type { name } } ... on ProjectMember { role } }
} }`

// annChange is one event of projectChanges.
type annChange struct {
	Cursor, Kind string
	SubjectID    *string
	Reason       *string
	Data         map[string]any
	Node         *struct {
		Typename string `json:"__typename"`
		ID, Name string
		Role     string
		Type     struct{ Name string }
	}
}

// change reads the next message of c: an event, or the end of the stream.
func (k annKit) change(c *apptest.Conn) (annChange, string) {
	k.T.Helper()
	return apptest.Next[annChange](c, "projectChanges")
}

// expect reads the next events of c and checks their kinds.
func (k annKit) expect(c *apptest.Conn, kinds ...string) []annChange {
	k.T.Helper()
	var got []annChange
	for _, kind := range kinds {
		ev, typ := k.change(c)
		require.Equal(k.T, "next", typ)
		require.Equal(k.T, kind, ev.Kind, "after %d events: %+v", len(got), ev)
		got = append(got, ev)
	}
	return got
}

// TestAnnotationLive: a second member sees each change as it happens, with
// its node (deletions with subjectId and no node); a stream resumes from a
// cursor; a removed member's stream ends; strangers cannot subscribe.
func TestAnnotationLive(t *testing.T) {
	eachKit(t, newAnnKit, func(t *testing.T, k annKit) {
		alice, bob, p := k.kg()
		carol, dave := k.Register("carol", nil), k.Register("dave", nil)
		k.join(alice, p, carol, "viewer")

		bobWS, carolWS := k.MustDial(bob.Token), k.MustDial(carol.Token)
		bobWS.Subscribe("1", annChanges, map[string]any{"p": p})
		carolWS.Subscribe("1", annChanges, map[string]any{"p": p})
		k.WaitSubscriptions(2)

		doc := k.text(alice, p, "doc", "张三和李四")
		zhang, li := k.entity(alice, p, "张三", ""), k.entity(alice, p, "李四", "")
		k.OK(alice.Token, annRenameEntity, map[string]any{"id": zhang, "name": "张三丰"}, nil)
		knows := k.relationType(alice, p, "knows", nil, nil, false)
		rel := k.relation(alice, knows, zhang, li)
		k.id(alice.Token, annAddMention, map[string]any{"t": doc, "e": li, "start": 3, "end": 5})

		// Each node is reloaded as the subscriber when delivered (an event
		// whose node is gone by then is skipped), so read them before the
		// next deletion.
		created := []string{"TEXT_CREATED", "ENTITY_CREATED", "ENTITY_CREATED", "ENTITY_RENAMED",
			"RELATION_TYPE_CREATED", "RELATION_CREATED", "MENTION_CREATED"}
		got := k.expect(bobWS, created...)
		require.Equal(t, "Text", got[0].Node.Typename)
		require.Equal(t, doc, got[0].Node.ID)
		require.Equal(t, "doc", got[0].Node.Name)
		require.Equal(t, "张三丰", got[3].Node.Name)
		require.Equal(t, "knows", got[5].Node.Type.Name)
		k.expect(carolWS, created...)
		k.id(alice.Token, annDeleteRelation, map[string]any{"id": rel})
		deleted := k.expect(bobWS, "RELATION_DELETED")[0]
		require.Nil(t, deleted.Node, "a deletion has no node")
		require.Equal(t, rel, *deleted.SubjectID)
		cursor := deleted.Cursor
		k.expect(carolWS, "RELATION_DELETED")

		// Resume: what happened while bob was away, then live again.
		bobWS.Close()
		k.OK(alice.Token, annRenameText, map[string]any{"id": doc, "name": "新闻"}, nil)
		k.id(alice.Token, annDeleteEntity, map[string]any{"id": li}) // its mention goes too
		bobWS = k.MustDial(bob.Token)
		bobWS.Subscribe("2", annChanges, map[string]any{"p": p, "after": cursor})
		got = k.expect(bobWS, "TEXT_RENAMED", "MENTION_DELETED", "ENTITY_DELETED")
		require.Equal(t, "新闻", got[0].Node.Name)
		require.Equal(t, li, *got[2].SubjectID)
		k.expect(carolWS, "TEXT_RENAMED", "MENTION_DELETED", "ENTITY_DELETED")

		// Membership changes are events too; the removed member's stream
		// ends instead of carrying them.
		k.OK(alice.Token, annSetRole, map[string]any{"p": p, "u": carol.ID, "role": "annotator"}, nil)
		require.Equal(t, "annotator", k.expect(bobWS, "PROJECT_MEMBER_UPDATED")[0].Node.Role)
		k.expect(carolWS, "PROJECT_MEMBER_UPDATED")
		k.id(alice.Token, annRemoveMember, map[string]any{"p": p, "u": carol.ID})
		removed := k.expect(bobWS, "PROJECT_MEMBER_DELETED")[0]
		require.Equal(t, carol.ID, removed.Data["userId"].(string))
		require.Equal(t, "removed", removed.Data["why"])
		closed := k.expect(carolWS, "STREAM_CLOSED")[0]
		require.Equal(t, "FORBIDDEN", *closed.Reason)
		_, typ := k.change(carolWS)
		require.Equal(t, "complete", typ)
		k.entity(alice, p, "王五", "")
		k.expect(bobWS, "ENTITY_CREATED")

		// Only members subscribe; a stranger cannot tell the project exists.
		daveWS := k.MustDial(dave.Token)
		daveWS.Subscribe("1", annChanges, map[string]any{"p": p})
		require.Equal(t, "NOT_FOUND", daveWS.ErrorCode())
		carolWS.Subscribe("2", annChanges, map[string]any{"p": p})
		require.Equal(t, "NOT_FOUND", carolWS.ErrorCode())

		// The project's deletion reaches its members, then nothing follows.
		k.id(alice.Token, annDeleteProject, map[string]any{"id": p})
		gone := k.expect(bobWS, "PROJECT_DELETED")[0]
		require.Equal(t, p, *gone.SubjectID)
	})
}
