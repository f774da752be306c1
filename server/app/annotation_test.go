package app_test

// Tests of annotation projects through the real HTTP and WebSocket
// handlers on every backend. This file holds the kit the
// annotation_*_test.go files share, and the tests of projects, members and
// invites.

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/internal/platform/dbtest"
	"github.com/parley-im/parley/server/apptest"
)

// annKit is a server with the annotation helpers. Its methods fail the test
// when a step that should succeed does not.
type annKit struct{ *server }

func newAnnKit(t *testing.T, b dbtest.Backend) annKit { return annKit{newServer(t, b)} }

// id runs a mutation that must succeed and returns data.<field>.id (or
// data.<field> when it is an ID itself).
func (k annKit) id(token, query string, vars map[string]any) string {
	k.T.Helper()
	var out map[string]json.RawMessage
	k.OK(token, query, vars, &out)
	require.Len(k.T, out, 1)
	for _, raw := range out {
		var node struct{ ID string }
		if json.Unmarshal(raw, &node) == nil && node.ID != "" {
			return node.ID
		}
		var id string
		require.NoError(k.T, json.Unmarshal(raw, &id))
		return id
	}
	return ""
}

const (
	annCreateProject = `mutation($name: String!) { createProject(input: {name: $name}) { id name myRole owner { id } } }`
	annRenameProject = `mutation($id: ID!, $name: String!) { renameProject(id: $id, name: $name) { id name } }`
	annDeleteProject = `mutation($id: ID!) { deleteProject(id: $id) }`
	annLeaveProject  = `mutation($id: ID!) { leaveProject(id: $id) }`
	annInvite        = `mutation($p: ID!, $u: ID!, $role: ProjectInviteRole) { inviteToProject(input: {projectId: $p, userId: $u, role: $role}) { id role status project { id name } invitee { id } } }`
	annAccept        = `mutation($id: ID!) { acceptProjectInvite(id: $id) { id role user { id } project { id } } }`
	annRefuse        = `mutation($id: ID!) { refuseProjectInvite(id: $id) { id status } }`
	annSetRole       = `mutation($p: ID!, $u: ID!, $role: ProjectInviteRole!) { setProjectMemberRole(projectId: $p, userId: $u, role: $role) { id role } }`
	annRemoveMember  = `mutation($p: ID!, $u: ID!) { removeProjectMember(projectId: $p, userId: $u) }`
	annProjects      = `query($owned: Boolean) { projects(owned: $owned, first: 50, orderBy: {field: NAME}) { totalCount edges { node { id name myRole owner { id } } } } }`
	annInvites       = `query($p: ID, $status: ProjectInviteStatus) { projectInvites(projectId: $p, status: $status, first: 50) { totalCount edges { node { id role status project { id name } inviter { id } } } } }`

	annAddText    = `mutation($p: ID!, $name: String!, $content: String!) { addText(input: {projectId: $p, name: $name, content: $content}) { id name length creator { id } } }`
	annRenameText = `mutation($id: ID!, $name: String!) { renameText(id: $id, name: $name) { id name } }`
	annDeleteText = `mutation($id: ID!) { deleteText(id: $id) }`

	annAddEntity     = `mutation($p: ID!, $name: String!, $label: String) { addEntity(input: {projectId: $p, name: $name, label: $label}) { id name label creator { id } } }`
	annRenameEntity  = `mutation($id: ID!, $name: String!) { renameEntity(id: $id, name: $name) { id name } }`
	annRelabelEntity = `mutation($id: ID!, $label: String!) { relabelEntity(id: $id, label: $label) { id label } }`
	annDeleteEntity  = `mutation($id: ID!) { deleteEntity(id: $id) }`

	annAddMention    = `mutation($t: ID!, $e: ID!, $start: Int!, $end: Int!) { addMention(input: {textId: $t, entityId: $e, start: $start, end: $end}) { id start end } }`
	annDeleteMention = `mutation($id: ID!) { deleteMention(id: $id) }`

	annAddType    = `mutation($p: ID!, $name: String!, $src: [String!], $tgt: [String!], $sym: Boolean) { addRelationType(input: {projectId: $p, name: $name, sourceLabels: $src, targetLabels: $tgt, symmetric: $sym}) { id name sourceLabels targetLabels symmetric } }`
	annRenameType = `mutation($id: ID!, $name: String!) { renameRelationType(id: $id, name: $name) { id name } }`
	annDeleteType = `mutation($id: ID!) { deleteRelationType(id: $id) }`

	annAddRelation    = `mutation($type: ID!, $s: ID!, $t: ID!) { addRelation(input: {typeId: $type, sourceId: $s, targetId: $t}) { id } }`
	annRetypeRelation = `mutation($id: ID!, $type: ID!) { changeRelationType(id: $id, typeId: $type) { id type { id } } }`
	annDeleteRelation = `mutation($id: ID!) { deleteRelation(id: $id) }`

	annImport = `mutation($p: ID!, $data: String!) { importGraph(projectId: $p, data: $data) { entitiesCreated relationTypesCreated relationsCreated skippedCount skipped { kind index name reason } } }`
)

// project creates a project owned by owner.
func (k annKit) project(owner account, name string) string {
	k.T.Helper()
	return k.id(owner.Token, annCreateProject, map[string]any{"name": name})
}

// kg registers alice and bob and gives alice a project, KG, in which bob
// is an annotator.
func (k annKit) kg() (alice, bob account, project string) {
	k.T.Helper()
	alice, bob = k.Register("alice", nil), k.Register("bob", nil)
	project = k.project(alice, "KG")
	k.join(alice, project, bob, "annotator")
	return alice, bob, project
}

// befriend makes a and b friends through the social API, unless they are
// already.
func (k annKit) befriend(a, b account) {
	k.T.Helper()
	r := k.Do(a.Token, `mutation($u: ID!) { applyFriend(input: {userId: $u}) { id } }`, map[string]any{"u": b.ID})
	if r.Reason() == "ALREADY_FRIENDS" {
		return
	}
	require.Empty(k.T, r.Errors)
	var n struct{ ApplyFriend struct{ ID string } }
	require.NoError(k.T, json.Unmarshal(r.Data, &n))
	k.OK(b.Token, `mutation($id: ID!) { acceptFriendApplication(id: $id) { id } }`, map[string]any{"id": n.ApplyFriend.ID}, nil)
}

// join makes member a member of project with role: friends, invited,
// accepted.
func (k annKit) join(owner account, project string, member account, role string) {
	k.T.Helper()
	k.befriend(owner, member)
	invite := k.id(owner.Token, annInvite, map[string]any{"p": project, "u": member.ID, "role": role})
	k.OK(member.Token, annAccept, map[string]any{"id": invite}, nil)
}

func (k annKit) entity(who account, project, name, label string) string {
	k.T.Helper()
	return k.id(who.Token, annAddEntity, map[string]any{"p": project, "name": name, "label": label})
}

func (k annKit) text(who account, project, name, content string) string {
	k.T.Helper()
	return k.id(who.Token, annAddText, map[string]any{"p": project, "name": name, "content": content})
}

func (k annKit) relationType(who account, project, name string, src, tgt []string, symmetric bool) string {
	k.T.Helper()
	return k.id(who.Token, annAddType, map[string]any{"p": project, "name": name, "src": src, "tgt": tgt, "sym": symmetric})
}

func (k annKit) relation(who account, typ, source, target string) string {
	k.T.Helper()
	return k.id(who.Token, annAddRelation, map[string]any{"type": typ, "s": source, "t": target})
}

type annProjectNode struct {
	ID, Name string
	MyRole   *string
	Owner    struct{ ID string }
}

// projects lists who's projects (owned: nil for all).
func (k annKit) projects(who account, owned any) []annProjectNode {
	k.T.Helper()
	var out struct {
		Projects apptest.Connection[annProjectNode]
	}
	k.OK(who.Token, annProjects, map[string]any{"owned": owned}, &out)
	nodes := out.Projects.Nodes()
	require.Equal(k.T, out.Projects.TotalCount, len(nodes))
	return nodes
}

func annNames(nodes []annProjectNode) []string {
	return apptest.Map(nodes, func(n annProjectNode) string { return n.Name })
}

// TestAnnotationProjects: create, rename, delete and list projects,
// with the name rule (unique per owner, regardless of case), input rules
// and who may do what.
func TestAnnotationProjects(t *testing.T) {
	eachKit(t, newAnnKit, func(t *testing.T, k annKit) {
		alice, bob := k.Register("alice", nil), k.Register("bob", nil)

		var created struct {
			CreateProject struct {
				ID, Name, MyRole string
				Owner            struct{ ID string }
			}
		}
		k.OK(alice.Token, annCreateProject, map[string]any{"name": "  知识图谱  "}, &created)
		require.Equal(t, "知识图谱", created.CreateProject.Name, "names are trimmed")
		require.Equal(t, "owner", created.CreateProject.MyRole)
		require.Equal(t, alice.ID, created.CreateProject.Owner.ID)
		kg := created.CreateProject.ID
		trees := k.project(alice, "Trees")
		k.project(bob, "Trees") // unique per owner only

		for _, c := range []struct {
			name, code, reason string
		}{
			{"trees", "CONFLICT", "PROJECT_NAME_TAKEN"},
			{" TREES ", "CONFLICT", "PROJECT_NAME_TAKEN"},
			{"ｔｒｅｅｓ", "CONFLICT", "PROJECT_NAME_TAKEN"}, // full-width forms fold too
			{"", "BAD_USER_INPUT", "REQUIRED"},
			{"   ", "BAD_USER_INPUT", "REQUIRED"},
			{strings.Repeat("项", 65), "BAD_USER_INPUT", "TOO_LONG"},
			{"a\tb", "BAD_USER_INPUT", "INVALID"},
		} {
			r := k.Fails(alice.Token, annCreateProject, map[string]any{"name": c.name}, c.code, c.reason)
			if c.code == "BAD_USER_INPUT" {
				require.Equal(t, "input.name", r.Ext("field"))
			}
		}
		k.project(alice, strings.Repeat("项", 64)) // the limit counts characters, not bytes
		k.Fails("", annCreateProject, map[string]any{"name": "anon"}, "UNAUTHENTICATED", "SIGN_IN_REQUIRED")

		// Rename: the same rules; a change of case of its own name is fine.
		k.OK(alice.Token, annRenameProject, map[string]any{"id": trees, "name": "TREES"}, nil)
		k.Fails(alice.Token, annRenameProject, map[string]any{"id": trees, "name": "知识图谱"}, "CONFLICT", "PROJECT_NAME_TAKEN")
		k.Fails(alice.Token, annRenameProject, map[string]any{"id": trees, "name": ""}, "BAD_USER_INPUT", "REQUIRED")
		k.Fails(bob.Token, annRenameProject, map[string]any{"id": trees, "name": "mine"}, "NOT_FOUND", "NOT_FOUND")

		// Lists: mine, and the ones I take part in.
		carol := k.Register("carol", nil)
		k.join(alice, kg, carol, "annotator")
		require.ElementsMatch(t, []string{"知识图谱", "TREES", strings.Repeat("项", 64)}, annNames(k.projects(alice, nil)))
		require.Empty(t, k.projects(alice, false))
		require.Empty(t, k.projects(carol, true))
		joined := k.projects(carol, false)
		require.Equal(t, []string{"知识图谱"}, annNames(joined))
		require.Equal(t, "annotator", *joined[0].MyRole)
		require.Equal(t, alice.ID, joined[0].Owner.ID)

		// Only the owner renames and deletes; a stranger cannot tell it exists.
		k.Fails(carol.Token, annRenameProject, map[string]any{"id": kg, "name": "x"}, "FORBIDDEN", "OWNER_ONLY")
		k.Fails(carol.Token, annDeleteProject, map[string]any{"id": kg}, "FORBIDDEN", "OWNER_ONLY")
		k.Fails(bob.Token, annDeleteProject, map[string]any{"id": kg}, "NOT_FOUND", "NOT_FOUND")
		k.Fails(bob.Token, annDeleteProject, map[string]any{"id": "4294967296999"}, "NOT_FOUND", "NOT_FOUND")

		// Delete: everything in it goes, in one transaction (see
		// TestAnnotationCascades); the name is free again.
		require.Equal(t, kg, k.id(alice.Token, annDeleteProject, map[string]any{"id": kg}))
		require.Empty(t, k.projects(carol, nil))
		require.Equal(t, "NOT_FOUND", k.Do(alice.Token, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": kg}).Code())
		k.project(alice, "知识图谱")
	})
}

// TestAnnotationInvites: the owner invites friends only; the invitee gets a
// notice live, lists his invites, accepts or refuses; members leave; the
// owner changes roles and removes members.
func TestAnnotationInvites(t *testing.T) {
	eachKit(t, newAnnKit, func(t *testing.T, k annKit) {
		alice, bob, carol, dave := k.Register("alice", nil), k.Register("bob", nil), k.Register("carol", nil), k.Register("dave", nil)
		p := k.project(alice, "KG")

		// Friends only; the invitee must exist and not be a member yet.
		k.Fails(alice.Token, annInvite, map[string]any{"p": p, "u": bob.ID}, "FORBIDDEN", "NOT_FRIEND")
		k.Fails(alice.Token, annInvite, map[string]any{"p": p, "u": "90194313999"}, "NOT_FOUND", "NOT_FOUND")
		k.Fails(alice.Token, annInvite, map[string]any{"p": p, "u": alice.ID}, "CONFLICT", "ALREADY_MEMBER")
		k.Fails(bob.Token, annInvite, map[string]any{"p": p, "u": carol.ID}, "NOT_FOUND", "NOT_FOUND")

		// The invitee's events stream carries the notice live.
		k.befriend(alice, bob)
		ws := k.MustDial(bob.Token)
		ws.Subscribe("1", `subscription { events { kind node { id ... on Notice { type operation project { id name } } } } }`, nil)
		k.WaitSubscriptions(1)
		var inv struct {
			InviteToProject struct {
				ID, Role, Status string
				Project          struct{ ID, Name string }
			}
		}
		k.OK(alice.Token, annInvite, map[string]any{"p": p, "u": bob.ID, "role": "viewer"}, &inv)
		require.Equal(t, "viewer", inv.InviteToProject.Role)
		require.Equal(t, "pending", inv.InviteToProject.Status)
		invite := inv.InviteToProject.ID
		var msg struct {
			Payload struct {
				Data struct {
					Events struct {
						Kind string
						Node struct {
							ID, Type, Operation string
							Project             struct{ ID, Name string }
						}
					}
				}
			}
		}
		for msg.Payload.Data.Events.Node.Type != "project_invite" {
			require.NoError(t, ws.ReadInto(&msg))
		}
		ev := msg.Payload.Data.Events
		require.Equal(t, "NOTICE_CREATED", ev.Kind)
		require.Equal(t, "not_operated", ev.Node.Operation)
		require.Equal(t, "KG", ev.Node.Project.Name, "the invitee sees the project he is invited into")

		// Inviting again while pending changes the role, not the count.
		require.Equal(t, invite, k.id(alice.Token, annInvite, map[string]any{"p": p, "u": bob.ID, "role": "annotator"}))
		type inviteList struct {
			ProjectInvites struct {
				TotalCount int
				Edges      []struct {
					Node struct {
						ID, Role, Status string
						Project          struct{ ID, Name string }
						Inviter          struct{ ID string }
					}
				}
			}
		}
		var mine inviteList
		k.OK(bob.Token, annInvites, nil, &mine)
		require.Equal(t, 1, mine.ProjectInvites.TotalCount)
		got := mine.ProjectInvites.Edges[0].Node
		require.Equal(t, "annotator", got.Role)
		require.Equal(t, "KG", got.Project.Name)
		require.Equal(t, alice.ID, got.Inviter.ID)

		// The invitee sees the project's card, not its contents, until he joins.
		var card struct {
			Node struct {
				Name   string
				MyRole *string
			}
		}
		k.OK(bob.Token, `query($id: ID!) { node(id: $id) { ... on Project { name myRole } } }`, map[string]any{"id": p}, &card)
		require.Equal(t, "KG", card.Node.Name)
		require.Nil(t, card.Node.MyRole)
		k.Fails(bob.Token, `query($p: ID!) { entities(projectId: $p) { totalCount } }`, map[string]any{"p": p}, "NOT_FOUND", "NOT_FOUND")

		// Only the invitee answers, once.
		k.Fails(alice.Token, annAccept, map[string]any{"id": invite}, "FORBIDDEN", "INVITEE_ONLY")
		k.Fails(carol.Token, annAccept, map[string]any{"id": invite}, "NOT_FOUND", "NOT_FOUND")
		var member struct {
			AcceptProjectInvite struct {
				Role string
				User struct{ ID string }
			}
		}
		k.OK(bob.Token, annAccept, map[string]any{"id": invite}, &member)
		require.Equal(t, "annotator", member.AcceptProjectInvite.Role)
		require.Equal(t, bob.ID, member.AcceptProjectInvite.User.ID)
		k.Fails(bob.Token, annAccept, map[string]any{"id": invite}, "CONFLICT", "INVITE_NOT_PENDING")
		k.Fails(bob.Token, annRefuse, map[string]any{"id": invite}, "CONFLICT", "INVITE_NOT_PENDING")
		k.Fails(alice.Token, annInvite, map[string]any{"p": p, "u": bob.ID}, "CONFLICT", "ALREADY_MEMBER")
		var accepted inviteList
		k.OK(bob.Token, annInvites, map[string]any{"status": "accepted"}, &accepted)
		require.Equal(t, 1, accepted.ProjectInvites.TotalCount)
		require.Equal(t, []string{"agreed"}, k.noticeOperations(bob.Token, "project_invite"),
			"one notice per invite, renewed rather than repeated, and settled")

		// Only the owner invites, even a friend of the inviter.
		k.befriend(bob, dave)
		k.Fails(bob.Token, annInvite, map[string]any{"p": p, "u": dave.ID}, "FORBIDDEN", "OWNER_ONLY")

		// Refusing.
		k.befriend(alice, carol)
		refused := k.id(alice.Token, annInvite, map[string]any{"p": p, "u": carol.ID})
		var ref struct{ RefuseProjectInvite struct{ Status string } }
		k.OK(carol.Token, annRefuse, map[string]any{"id": refused}, &ref)
		require.Equal(t, "refused", ref.RefuseProjectInvite.Status)
		require.Empty(t, k.projects(carol, nil))
		var pending inviteList
		k.OK(carol.Token, annInvites, nil, &pending)
		require.Zero(t, pending.ProjectInvites.TotalCount)
		var owners inviteList
		k.OK(alice.Token, annInvites, map[string]any{"p": p, "status": "refused"}, &owners)
		require.Equal(t, 1, owners.ProjectInvites.TotalCount, "the owner sees his project's invites")

		// Roles: the owner changes them; his own is fixed; no one else may.
		var role struct{ SetProjectMemberRole struct{ Role string } }
		k.OK(alice.Token, annSetRole, map[string]any{"p": p, "u": bob.ID, "role": "viewer"}, &role)
		require.Equal(t, "viewer", role.SetProjectMemberRole.Role)
		k.Fails(alice.Token, annSetRole, map[string]any{"p": p, "u": alice.ID, "role": "viewer"}, "FORBIDDEN", "OWNER_MEMBERSHIP_FIXED")
		k.Fails(bob.Token, annSetRole, map[string]any{"p": p, "u": bob.ID, "role": "annotator"}, "FORBIDDEN", "OWNER_ONLY")
		k.Fails(alice.Token, annSetRole, map[string]any{"p": p, "u": carol.ID, "role": "viewer"}, "NOT_FOUND", "NOT_FOUND")
		k.Fails(alice.Token, annSetRole, map[string]any{"p": p, "u": bob.ID, "role": "owner"}, "GRAPHQL_VALIDATION_FAILED", "GRAPHQL_VALIDATION_FAILED")

		// Leaving and removing.
		k.Fails(alice.Token, annLeaveProject, map[string]any{"id": p}, "FORBIDDEN", "OWNER_CANNOT_LEAVE")
		k.Fails(alice.Token, annRemoveMember, map[string]any{"p": p, "u": alice.ID}, "FORBIDDEN", "OWNER_MEMBERSHIP_FIXED")
		require.Equal(t, p, k.id(bob.Token, annLeaveProject, map[string]any{"id": p}))
		require.Empty(t, k.projects(bob, nil))
		k.Fails(bob.Token, annLeaveProject, map[string]any{"id": p}, "NOT_FOUND", "NOT_FOUND")
		k.join(alice, p, dave, "annotator")
		k.Fails(carol.Token, annRemoveMember, map[string]any{"p": p, "u": dave.ID}, "NOT_FOUND", "NOT_FOUND")
		k.join(alice, p, carol, "annotator")
		k.Fails(carol.Token, annRemoveMember, map[string]any{"p": p, "u": dave.ID}, "FORBIDDEN", "OWNER_ONLY")
		require.Equal(t, dave.ID, k.id(alice.Token, annRemoveMember, map[string]any{"p": p, "u": dave.ID}))
		require.Empty(t, k.projects(dave, nil))
		k.Fails(alice.Token, annRemoveMember, map[string]any{"p": p, "u": dave.ID}, "NOT_FOUND", "NOT_FOUND")
	})
}

// TestDeletedProjectCancelsInvites: deleting a project cancels its pending
// invites: the invitee's notice becomes cancelled, live on his notices and
// events streams, and no pending invite or request is left to answer. An
// invite already answered keeps its answer. A project going with its
// owner's account is no exception.
func TestDeletedProjectCancelsInvites(t *testing.T) {
	eachKit(t, newAnnKit, func(t *testing.T, k annKit) {
		alice, bob, carol := k.Register("alice", nil), k.Register("bob", nil), k.Register("carol", nil)
		p := k.project(alice, "KG")
		k.befriend(alice, bob)
		k.befriend(alice, carol)
		invite := k.id(alice.Token, annInvite, map[string]any{"p": p, "u": bob.ID, "role": "viewer"})
		refused := k.id(alice.Token, annInvite, map[string]any{"p": p, "u": carol.ID})
		k.OK(carol.Token, annRefuse, map[string]any{"id": refused}, nil)

		ws := k.MustDial(bob.Token)
		ws.Subscribe("n", noticesSubscription, nil)
		ws.Subscribe("e", `subscription { events { kind node { id ... on Notice { type operation } } } }`, nil)
		k.WaitSubscriptions(2)
		k.id(alice.Token, annDeleteProject, map[string]any{"id": p})

		// Both streams carry the change, in whatever order their frames
		// interleave.
		seen := map[string]string{}
		for len(seen) < 2 {
			var f struct {
				ID      string
				Type    string
				Payload struct {
					Data map[string]struct {
						Kind string
						Node *struct{ Type, Operation string }
					}
				}
			}
			require.NoError(t, ws.ReadInto(&f))
			require.Equal(t, "next", f.Type)
			for _, ev := range f.Payload.Data {
				if ev.Kind == "NOTICE_UPDATED" && ev.Node != nil && ev.Node.Type == "project_invite" {
					seen[f.ID] = ev.Node.Operation
				}
			}
		}
		require.Equal(t, map[string]string{"n": "cancelled", "e": "cancelled"}, seen)

		operations := func(a account) []string {
			var out struct {
				Notices struct {
					Edges []struct {
						Node struct{ Type, Operation string }
					}
				}
			}
			k.OK(a.Token, `{ notices(first: 10) { edges { node { type operation } } } }`, nil, &out)
			var ops []string
			for _, e := range out.Notices.Edges {
				if e.Node.Type == "project_invite" {
					ops = append(ops, e.Node.Operation)
				}
			}
			return ops
		}
		require.Equal(t, []string{"cancelled"}, operations(bob))
		require.Equal(t, []string{"refused"}, operations(carol), "an answered invite keeps its answer")
		var pending struct{ ProjectInvites struct{ TotalCount int } }
		k.OK(bob.Token, annInvites, nil, &pending)
		require.Zero(t, pending.ProjectInvites.TotalCount)
		k.Fails(bob.Token, annAccept, map[string]any{"id": invite}, "NOT_FOUND", "NOT_FOUND")

		// The projects of a deleted account go the same way.
		dave := k.Register("dave", nil)
		k.befriend(dave, bob)
		q := k.project(dave, "Dave's")
		k.id(dave.Token, annInvite, map[string]any{"p": q, "u": bob.ID})
		ws.Close()
		ws = k.MustDial(bob.Token)
		ws.Subscribe("n", `subscription { notices { kind subjectId node { id ... on Notice { type operation } } } }`, nil)
		k.WaitSubscriptions(1)
		k.OK(dave.Token, `mutation { deleteAccount(password: "password1") }`, nil, nil)
		require.Equal(t, []string{"cancelled"}, operations(bob), "the request from the deleted account is gone, the cancelled one stays")
		// The request from the deleted account goes from bob's inbox too,
		// live: it is cancelled with the project, then deleted with the
		// account's notices.
		type noticeChange struct {
			Kind      string
			SubjectID *string
			Node      *struct{ ID, Type, Operation string }
		}
		var kinds []string
		for {
			ev, typ := apptest.Next[noticeChange](ws, "notices")
			require.Equal(t, "next", typ)
			kinds = append(kinds, ev.Kind)
			if ev.Kind == "NOTICE_DELETED" {
				require.NotNil(t, ev.SubjectID)
				require.Nil(t, ev.Node)
				break
			}
		}
		require.NotContains(t, kinds, "NOTICE_CREATED")
	})
}
