package messaging

import (
	"slices"

	"entgo.io/contrib/entgql"

	"github.com/parley-im/parley/ent"
)

// userPage turns rows read for a page of people (up to n+1 of them, in
// cursor order, reversed when paging backwards) into a UserConnection, as
// entgql's connections answer: the cursor is the row's id, and the far side
// of a cursor counts as more. Reactions and read receipts page people this
// way.
func userPage[R any](rows []R, n, total int, backwards, hasAfter, hasBefore bool, id func(R) int, user func(R) *ent.User) *ent.UserConnection {
	more := len(rows) > n
	if more {
		rows = rows[:n]
	}
	if backwards {
		slices.Reverse(rows)
	}
	conn := &ent.UserConnection{TotalCount: total}
	conn.PageInfo.HasNextPage, conn.PageInfo.HasPreviousPage = hasBefore, hasAfter
	if backwards {
		conn.PageInfo.HasPreviousPage = more
	} else {
		conn.PageInfo.HasNextPage = more
	}
	for _, row := range rows {
		if u := user(row); u != nil {
			conn.Edges = append(conn.Edges, &ent.UserEdge{Node: u, Cursor: entgql.Cursor[int]{ID: id(row)}})
		}
	}
	if len(conn.Edges) > 0 {
		conn.PageInfo.StartCursor = &conn.Edges[0].Cursor
		conn.PageInfo.EndCursor = &conn.Edges[len(conn.Edges)-1].Cursor
	}
	return conn
}
