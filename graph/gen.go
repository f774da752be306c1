// Package graph is Parley's GraphQL layer: gqlgen resolvers over the ent data
// model. Resolvers stay thin; rules live in ent privacy policies, hooks and the
// domain packages.
package graph

//go:generate go run -C .. ./ent/entc.go
//go:generate go run -C .. github.com/99designs/gqlgen
//go:generate go run -C .. ./graph/printschema schema.graphql
