package graph

import "strings"

// LiveKind is the LiveEventKind a client receives for kind, the dotted kind
// of a stored event (message.created, project_member.deleted): upper case,
// its dots as underscores (MESSAGE_CREATED, PROJECT_MEMBER_DELETED). It is
// the one place where the domain's kinds meet the schema's enum, so the
// event log, the hub and the domain packages keep their kinds unchanged.
func LiveKind(kind string) LiveEventKind {
	return LiveEventKind(strings.ToUpper(strings.ReplaceAll(kind, ".", "_")))
}
