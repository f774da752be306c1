package annotation

import (
	"context"
	"math"
	"slices"
	"strings"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/entity"
	"github.com/parley-im/parley/ent/predicate"
	"github.com/parley-im/parley/ent/relation"
	"github.com/parley-im/parley/ent/relationtype"
	"github.com/parley-im/parley/ent/user"
	"github.com/parley-im/parley/internal/platform/apperr"
)

// Bounds of a graph answer: it is one response, not a stream, so a huge
// project shows its first entities and relations (by id) and says so.
const (
	GraphMaxNodes = 2000
	GraphMaxLinks = 10000
	MaxHops       = 3
)

// Graph is a knowledge graph in the shape of ECharts' graph series: Nodes
// are series.data and Links series.links, whose Source and Target are node
// ids.
type Graph struct {
	Nodes     []*GraphNode
	Links     []*GraphLink
	Truncated bool
}

// GraphNode is an entity of the graph.
type GraphNode struct {
	ID         int
	Name       string
	Label      string
	Creator    *ent.User
	Degree     int
	SymbolSize float64
	Selected   bool
}

// GraphLink is a relation of the graph, named by its type.
type GraphLink struct {
	ID        int
	Name      string
	Source    int
	Target    int
	Symmetric bool
	Creator   *ent.User
}

// SymbolSize is a node's diameter in pixels: 20 for an isolated entity,
// growing with the square root of its degree so that hubs stand out without
// swallowing the picture, capped at 60: min(60, 20 + 8·√degree), rounded to
// one decimal (degree 1: 28, 4: 36, 9: 44, 25 and more: 60). The degree
// counts every relation of the project touching the entity, either way, so
// a node keeps its size in the whole graph and in a neighbourhood.
func SymbolSize(degree int) float64 {
	size := math.Min(60, 20+8*math.Sqrt(float64(degree)))
	return math.Round(size*10) / 10
}

// Graph returns a project's graph; nodes whose name contains name (by
// NameKey) are selected.
func (s *Service) Graph(ctx context.Context, projectID int, name *string) (*Graph, error) {
	if err := checkFilter(name); err != nil {
		return nil, err
	}
	db := s.reader(ctx)
	p, err := memberProject(ctx, db, projectID, "projectId")
	if err != nil {
		return nil, err
	}
	entities, err := db.Entity.Query().Where(entity.ProjectID(p.ID)).
		Order(ent.Asc(entity.FieldID)).Limit(GraphMaxNodes + 1).All(ctx)
	if err != nil {
		return nil, err
	}
	links := db.Relation.Query().Where(relation.ProjectID(p.ID))
	truncated := len(entities) > GraphMaxNodes
	if truncated {
		entities = entities[:GraphMaxNodes]
		ids := entityIDs(entities)
		links.Where(relation.SourceIDIn(ids...), relation.TargetIDIn(ids...))
	}
	return build(ctx, db, entities, links, relation.ProjectID(p.ID), deref(name), truncated)
}

// Neighbourhood returns the entities at most hops relations away from one
// entity, either way, and every relation between them.
func (s *Service) Neighbourhood(ctx context.Context, entityID, hops int, name *string) (*Graph, error) {
	if err := checkFilter(name); err != nil {
		return nil, err
	}
	if hops < 1 || hops > MaxHops {
		return nil, apperr.Input(ReasonHopsOutOfRange, "hops", "hops must be between 1 and %d", MaxHops)
	}
	db := s.reader(ctx)
	start, err := loadEntity(ctx, db, entityID, "entityId")
	if err != nil {
		return nil, err
	}
	seen := map[int]bool{start.ID: true}
	ids, frontier, truncated := []int{start.ID}, []int{start.ID}, false
	for hop := 0; hop < hops && len(frontier) > 0 && !truncated; hop++ {
		var pairs []struct {
			Source int `json:"source_id"`
			Target int `json:"target_id"`
		}
		err := db.Relation.Query().
			Where(relation.Or(relation.SourceIDIn(frontier...), relation.TargetIDIn(frontier...))).
			Select(relation.FieldSourceID, relation.FieldTargetID).Scan(ctx, &pairs)
		if err != nil {
			return nil, err
		}
		var next []int
		for _, pair := range pairs {
			for _, id := range []int{pair.Source, pair.Target} {
				switch {
				case seen[id]:
				case len(ids) == GraphMaxNodes:
					truncated = true
				default:
					seen[id] = true
					ids, next = append(ids, id), append(next, id)
				}
			}
		}
		frontier = next
	}
	entities, err := db.Entity.Query().Where(entity.IDIn(ids...)).Order(ent.Asc(entity.FieldID)).All(ctx)
	if err != nil {
		return nil, err
	}
	links := db.Relation.Query().Where(relation.SourceIDIn(ids...), relation.TargetIDIn(ids...))
	touching := relation.Or(relation.SourceIDIn(ids...), relation.TargetIDIn(ids...))
	return build(ctx, db, entities, links, touching, deref(name), truncated)
}

// build assembles a graph from its entities and the query of its links;
// scope selects the relations that count towards the entities' degrees.
func build(ctx context.Context, db *ent.Client, entities []*ent.Entity, links *ent.RelationQuery, scope predicate.Relation, filter string, truncated bool) (*Graph, error) {
	rels, err := links.Order(ent.Asc(relation.FieldID)).Limit(GraphMaxLinks + 1).
		WithType(func(q *ent.RelationTypeQuery) {
			q.Select(relationtype.FieldID, relationtype.FieldName, relationtype.FieldSymmetric)
		}).All(ctx)
	if err != nil {
		return nil, err
	}
	if len(rels) > GraphMaxLinks {
		rels, truncated = rels[:GraphMaxLinks], true
	}
	degree, err := degrees(ctx, db, scope)
	if err != nil {
		return nil, err
	}
	users, err := creators(ctx, db, entities, rels)
	if err != nil {
		return nil, err
	}
	key := NameKey(filter)
	g := &Graph{Nodes: make([]*GraphNode, len(entities)), Links: make([]*GraphLink, len(rels)), Truncated: truncated}
	for i, e := range entities {
		g.Nodes[i] = &GraphNode{
			ID: e.ID, Name: e.Name, Label: e.Label, Creator: users[e.CreatorID],
			Degree: degree[e.ID], SymbolSize: SymbolSize(degree[e.ID]),
			Selected: key != "" && strings.Contains(e.NameKey, key),
		}
	}
	for i, r := range rels {
		g.Links[i] = &GraphLink{
			ID: r.ID, Name: r.Edges.Type.Name, Source: r.SourceID, Target: r.TargetID,
			Symmetric: r.Edges.Type.Symmetric, Creator: users[r.CreatorID],
		}
	}
	return g, nil
}

// degrees counts, per entity, the relations of scope that touch it.
func degrees(ctx context.Context, db *ent.Client, scope predicate.Relation) (map[int]int, error) {
	degree := map[int]int{}
	for _, column := range []string{relation.FieldSourceID, relation.FieldTargetID} {
		var rows []struct {
			Source int `json:"source_id"`
			Target int `json:"target_id"`
			Count  int `json:"count"`
		}
		err := db.Relation.Query().Where(scope).GroupBy(column).
			Aggregate(ent.As(ent.Count(), "count")).Scan(ctx, &rows)
		if err != nil {
			return nil, err
		}
		for _, row := range rows {
			id := row.Source
			if column == relation.FieldTargetID {
				id = row.Target
			}
			degree[id] += row.Count
		}
	}
	return degree, nil
}

// creators loads the users who created the graph's entities and relations
// in one query.
func creators(ctx context.Context, db *ent.Client, entities []*ent.Entity, rels []*ent.Relation) (map[int]*ent.User, error) {
	var ids []int
	for _, e := range entities {
		ids = append(ids, e.CreatorID)
	}
	for _, r := range rels {
		ids = append(ids, r.CreatorID)
	}
	users, err := db.User.Query().Where(user.IDIn(slices.Compact(slices.Sorted(slices.Values(ids)))...)).All(ctx)
	if err != nil {
		return nil, err
	}
	byID := make(map[int]*ent.User, len(users))
	for _, u := range users {
		byID[u.ID] = u
	}
	return byID, nil
}

func entityIDs(entities []*ent.Entity) []int {
	ids := make([]int, len(entities))
	for i, e := range entities {
		ids[i] = e.ID
	}
	return ids
}
