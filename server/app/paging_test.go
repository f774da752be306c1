package app_test

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/internal/platform/dbtest"
)

// pagedConnection says how a test reaches one connection field of the
// schema: parent wraps the field's selection to reach its parent object
// (a node by id for a field of an object type; nothing for Query), args are
// the field's required arguments.
type pagedConnection struct {
	parent, args string
	// inList, when set, is a list field between the parent node and the
	// connection (Message.reactions for Reaction.users): the page is read
	// from its first element.
	inList string
}

// pageFixture is every connection's reach, for the viewer the fixture builds.
type pageFixture struct {
	viewer      account
	connections map[string]pagedConnection // "Type.field"
}

// buildPageFixture gives a viewer at least three rows in every connection
// the schema has, and returns how to reach each.
func buildPageFixture(k grpKit) pageFixture {
	k.T.Helper()
	p := k.people("Ann", "Bob", "Cat", "Dan")
	ann, bob, cat, dan := p[0], p[1], p[2], p[3]
	// Ann's friends in their own order (Dan pinned, then Bob and Cat tied
	// on one remark), not the order they became friends in.
	const updateFriend = `mutation($u: ID!, $in: UpdateFriendInput!) { updateFriend(userId: $u, input: $in) { id } }`
	k.OK(ann.Token, updateFriend, map[string]any{"u": dan.ID, "in": map[string]any{"pinned": true}}, nil)
	for _, f := range []account{bob, cat} {
		k.OK(ann.Token, updateFriend, map[string]any{"u": f.ID, "in": map[string]any{"remark": "Zed"}}, nil)
	}
	for _, n := range []string{"Eve", "Fay", "Gus"} {
		u := k.Register(strings.ToLower(n), map[string]any{"nickname": "Pager " + n})
		k.OK(u.Token, `mutation($u: ID!) { applyFriend(input: {userId: $u}) { id } }`, map[string]any{"u": ann.ID}, nil)
	}
	var groups []groupView
	for i := range 3 {
		groups = append(groups, k.create(ann, map[string]any{"name": fmt.Sprintf("team %d", i), "memberIds": []string{bob.ID, cat.ID, dan.ID}}))
	}
	for _, text := range []string{"one", "two", "three"} {
		k.sendGroup(ann, groups[0].ID, text)
	}
	k.Send(ann, bob, "hi")
	k.Send(ann, cat, "hi")
	k.Send(ann, dan, "one more") // searchMessages(query: "one") finds it, the group's and the room's
	// A message with three earlier versions and three reactions with one
	// emoji.
	edited := k.sendIn(ann, map[string]any{"groupId": groups[1].ID, "text": "draft 0"})
	for i := 1; i <= 3; i++ {
		k.edit(ann, edited.ID, map[string]any{"text": fmt.Sprintf("draft %d", i)})
	}
	for _, a := range []account{ann, bob, cat} {
		k.react(a, edited.ID, "👍", false)
	}
	for _, a := range []account{bob, cat, dan} { // three who read it (Message.readBy)
		k.OK(a.Token, `mutation($c: ID!) { markRead(conversationId: $c) { id } }`, map[string]any{"c": groups[1].ConversationID}, nil)
	}
	// A thread of three replies.
	for _, a := range []account{bob, cat, ann} {
		k.sendIn(a, map[string]any{"groupId": groups[1].ID, "text": "reply", "threadId": edited.ID})
	}

	var rooms []roomView
	for i := range 3 {
		rooms = append(rooms, k.room(ann, fmt.Sprintf("hall %d", i), "a hall"))
	}
	for _, text := range []string{"one", "two", "three"} {
		k.OK(ann.Token, `mutation($r: ID!, $t: String!) { send(input: {roomId: $r, text: $t}) { id } }`, map[string]any{"r": rooms[0].ID, "t": text}, nil)
	}

	a := annKit{k.server}
	var projects []string
	for i := range 3 {
		projects = append(projects, a.project(ann, fmt.Sprintf("KG %d", i)))
	}
	kg := projects[0]
	a.join(ann, kg, bob, "annotator")
	a.join(ann, kg, cat, "annotator")
	for i := range 3 { // invites ann received
		pr := a.project(dan, fmt.Sprintf("Dan's %d", i))
		k.OK(dan.Token, annInvite, map[string]any{"p": pr, "u": ann.ID, "role": "annotator"}, nil)
	}
	var texts, entities, types []string
	for i := range 3 {
		texts = append(texts, a.text(ann, kg, fmt.Sprintf("doc %d", i), "abcdef"))
		entities = append(entities, a.entity(ann, kg, fmt.Sprintf("e%d", i), "PER"))
		types = append(types, a.relationType(ann, kg, fmt.Sprintf("r%d", i), nil, nil, false))
	}
	a.relation(ann, types[0], entities[0], entities[1])
	a.relation(ann, types[0], entities[1], entities[2])
	a.relation(ann, types[1], entities[0], entities[2])
	for i := range 3 {
		a.id(ann.Token, annAddMention, map[string]any{"t": texts[0], "e": entities[0], "start": i, "end": i + 1})
	}

	node := func(typ, id string, inside ...string) string {
		if len(inside) > 0 { // a connection of the objects of a list field
			return fmt.Sprintf(`node(id: %q) { ... on %s { %s { %%s } } }`, id, typ, inside[0])
		}
		return fmt.Sprintf(`node(id: %q) { ... on %s { %%s } }`, id, typ)
	}
	inProject := fmt.Sprintf("projectId: %q", kg)
	return pageFixture{viewer: ann, connections: map[string]pagedConnection{
		"Query.friends":            {},
		"Query.friendApplications": {},
		"Query.notices":            {},
		"Query.searchUsers":        {args: `query: "pager"`},
		"Query.searchGroups":       {args: `query: "team"`},
		"Query.myGroups":           {},
		"Query.conversations":      {},
		"Query.messages":           {args: fmt.Sprintf("conversationId: %q", groups[0].ConversationID)},
		"Query.rooms":              {args: `query: "hall"`},
		"Query.searchMessages":     {args: `query: "one"`},
		"Query.threadMessages":     {args: fmt.Sprintf("rootId: %q", edited.ID)},
		"Query.projects":           {},
		"Query.projectInvites":     {},
		"Query.texts":              {args: inProject},
		"Query.entities":           {args: inProject},
		"Query.relationTypes":      {args: inProject},
		"Query.relations":          {args: inProject},
		"Conversation.members":     {parent: node("Conversation", groups[0].ConversationID)},
		"Conversation.messages":    {parent: node("Conversation", groups[0].ConversationID)},
		"Group.members":            {parent: node("Group", groups[0].ID)},
		"Room.messages":            {parent: node("Room", rooms[0].ID)},
		"Project.members":          {parent: node("Project", kg)},
		"Project.texts":            {parent: node("Project", kg)},
		"Project.entities":         {parent: node("Project", kg)},
		"Project.relationTypes":    {parent: node("Project", kg)},
		"Project.relations":        {parent: node("Project", kg)},
		"Entity.mentions":          {parent: node("Entity", entities[0])},
		"Text.mentions":            {parent: node("Text", texts[0])},
		"Message.edits":            {parent: node("Message", edited.ID)},
		"Message.readBy":           {parent: node("Message", edited.ID)},
		"Reaction.users":           {parent: node("Message", edited.ID, "reactions"), inList: "reactions"},
	}}
}

// introspectedField is a field of the schema as introspection shows it.
type introspectedField struct {
	Name string
	Type typeRef
	Args []struct {
		Name string
		Type typeRef
	}
}

type typeRef struct {
	Kind   string
	Name   *string
	OfType *typeRef
}

// named is the type under the list and non-null wrappers.
func (r typeRef) named() string {
	if r.Name != nil {
		return *r.Name
	}
	if r.OfType != nil {
		return r.OfType.named()
	}
	return ""
}

// String is the type as a variable declaration writes it.
func (r typeRef) String() string {
	switch r.Kind {
	case "NON_NULL":
		return r.OfType.String() + "!"
	case "LIST":
		return "[" + r.OfType.String() + "]"
	}
	return *r.Name
}

const typeRefFields = `kind name ofType { kind name ofType { kind name ofType { kind name } } }`

// connectionFields reads every field of the schema's object types that
// returns a connection, by "Type.field", and the enum values of each input
// type (the order fields).
func connectionFields(k grpKit) (map[string]introspectedField, map[string][]string, map[string]map[string]typeRef) {
	k.T.Helper()
	var out struct {
		Schema struct {
			Types []struct {
				Kind, Name  string
				Fields      []introspectedField
				EnumValues  []struct{ Name string }
				InputFields []struct {
					Name string
					Type typeRef
				}
			}
		} `json:"__schema"`
	}
	k.OK("", `{ __schema { types { kind name
		fields { name type { `+typeRefFields+` } args { name type { `+typeRefFields+` } } }
		enumValues { name } inputFields { name type { `+typeRefFields+` } } } } }`, nil, &out)
	fields := map[string]introspectedField{}
	enums := map[string][]string{}
	inputs := map[string]map[string]typeRef{}
	for _, t := range out.Schema.Types {
		for _, e := range t.EnumValues {
			enums[t.Name] = append(enums[t.Name], e.Name)
		}
		if t.Kind == "INPUT_OBJECT" {
			inputs[t.Name] = map[string]typeRef{}
			for _, f := range t.InputFields {
				inputs[t.Name][f.Name] = f.Type
			}
		}
		if t.Kind != "OBJECT" || strings.HasPrefix(t.Name, "__") {
			continue
		}
		for _, f := range t.Fields {
			if strings.HasSuffix(f.Type.named(), "Connection") {
				fields[t.Name+"."+f.Name] = f
			}
		}
	}
	return fields, enums, inputs
}

// pageOf is one page of a connection.
type pageOf struct {
	PageInfo struct {
		HasNextPage, HasPreviousPage bool
		StartCursor, EndCursor       *string
	}
	Edges []struct {
		Cursor string
		Node   struct{ ID string }
	}
}

// TestEveryConnectionPages pages every connection of the schema to its end,
// one row at a time forwards and backwards and two at a time, in every
// order it offers, and checks that each row comes exactly once and in the
// same order both ways.
func TestEveryConnectionPages(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		k := newGrpKit(t, b)
		fx := buildPageFixture(k)
		fields, enums, inputs := connectionFields(k)

		var names []string
		for name := range fields {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			reach, ok := fx.connections[name]
			require.Truef(t, ok, "%s: the paging test does not reach this connection", name)
			f := fields[name]
			for _, order := range orderings(f, enums, inputs) {
				t.Run(name+order.label, func(t *testing.T) {
					page := func(args string) pageOf { return k.page(fx.viewer, name, reach, f, order, args) }
					all := page("first: 50")
					require.GreaterOrEqualf(t, len(all.Edges), 3, "%s: the fixture gives fewer than 3 rows", name)
					want := make([]string, len(all.Edges))
					for i, e := range all.Edges {
						want[i] = e.Node.ID
					}
					for _, size := range []int{1, 2} {
						require.Equal(t, want, pageThrough(t, page, size, len(want), true), "first: %d", size)
						if takes(f, "last") { // some connections page forwards only
							require.Equal(t, want, pageThrough(t, page, size, len(want), false), "last: %d", size)
						}
					}
				})
			}
		}
	})
}

// takes reports whether field f has an argument named arg.
func takes(f introspectedField, arg string) bool {
	for _, a := range f.Args {
		if a.Name == arg {
			return true
		}
	}
	return false
}

// ordering is one value of a connection's orderBy argument ("" for none).
type ordering struct {
	label, arg, varType string
	value               any
}

// orderings is the connection's default order and, when it takes orderBy,
// every field of its order type in both directions.
func orderings(f introspectedField, enums map[string][]string, inputs map[string]map[string]typeRef) []ordering {
	out := []ordering{{}}
	for _, a := range f.Args {
		if a.Name != "orderBy" {
			continue
		}
		in := inputs[a.Type.named()]
		for _, field := range enums[in["field"].named()] {
			for _, dir := range []string{"ASC", "DESC"} {
				var value any = map[string]any{"field": field, "direction": dir}
				if strings.Contains(a.Type.String(), "[") {
					value = []any{value}
				}
				out = append(out, ordering{label: "/" + field + "_" + dir, arg: "orderBy: $order", varType: a.Type.String(), value: value})
			}
		}
	}
	return out
}

// page reads one page of the connection name as viewer.
func (k grpKit) page(viewer account, name string, reach pagedConnection, f introspectedField, order ordering, paging string) pageOf {
	k.T.Helper()
	args := []string{paging}
	if reach.args != "" {
		args = append(args, reach.args)
	}
	vars := map[string]any{}
	decl := ""
	if order.arg != "" {
		args = append(args, order.arg)
		vars["order"] = order.value
		decl = "($order: " + order.varType + ")"
	}
	sel := fmt.Sprintf(`%s(%s) { pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { id } } }`, f.Name, strings.Join(args, ", "))
	if reach.parent != "" {
		sel = fmt.Sprintf(reach.parent, sel)
	}
	var out map[string]json.RawMessage
	k.OK(viewer.Token, "query"+decl+" { "+sel+" }", vars, &out)
	raw := out[f.Name]
	if reach.parent != "" {
		var parent map[string]json.RawMessage
		require.NoError(k.T, json.Unmarshal(out["node"], &parent))
		require.NotNilf(k.T, parent, "%s: the parent node is not readable", name)
		raw = parent[f.Name]
		if reach.inList != "" {
			var list []map[string]json.RawMessage
			require.NoError(k.T, json.Unmarshal(parent[reach.inList], &list))
			require.NotEmptyf(k.T, list, "%s: %s is empty", name, reach.inList)
			raw = list[0][f.Name]
		}
	}
	var p pageOf
	require.NoError(k.T, json.Unmarshal(raw, &p))
	return p
}

// pageThrough follows the connection to its end with size rows a page:
// forwards (first, after endCursor, until hasNextPage is false) or
// backwards (last, before startCursor, until hasPreviousPage is false). It
// returns the ids in the connection's order.
func pageThrough(t *testing.T, page func(string) pageOf, size, rows int, forwards bool) []string {
	count, cursor := "last", "before"
	if forwards {
		count, cursor = "first", "after"
	}
	var ids []string
	args := fmt.Sprintf("%s: %d", count, size)
	for range rows + 2 {
		p := page(args)
		var got []string
		for _, e := range p.Edges {
			got = append(got, e.Node.ID)
		}
		more, next := p.PageInfo.HasPreviousPage, p.PageInfo.StartCursor
		if forwards {
			ids = append(ids, got...)
			more, next = p.PageInfo.HasNextPage, p.PageInfo.EndCursor
		} else {
			ids = append(got, ids...)
		}
		if !more {
			return ids
		}
		require.NotNil(t, next)
		args = fmt.Sprintf("%s: %d, %s: %q", count, size, cursor, *next)
	}
	t.Fatalf("%s: %d did not end after %d pages; read %v", count, size, rows+2, ids)
	return nil
}
