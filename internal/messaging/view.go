package messaging

import (
	"strings"

	"github.com/parley-im/parley/ent"
)

// Text returns the text of a message: its text and emoji parts joined, or
// nothing once it was revoked or deleted.
func Text(m *ent.Message) string {
	if m.RevokedAt != nil || m.DeletedAt != nil {
		return ""
	}
	var b strings.Builder
	for _, p := range m.Parts {
		if p.Category == "text" || p.Category == "emoji" {
			b.WriteString(p.Content)
		}
	}
	return b.String()
}

// previewMax bounds a preview, in characters.
const previewMax = 60

// Preview is the one line lists and quotes show: the text, or a bracketed
// name of what the message holds ("[image]").
func Preview(m *ent.Message) string {
	switch {
	case m.RevokedAt != nil:
		return "[revoked]"
	case m.DeletedAt != nil:
		return "[deleted]"
	}
	var out []string
	for _, p := range m.Parts {
		switch p.Category {
		case "text", "emoji":
			out = append(out, p.Content)
		case "link":
			label := p.Content
			if label == "" {
				label = p.URL
			}
			out = append(out, "[link] "+label)
		default:
			out = append(out, "["+p.Category+"]")
		}
	}
	s := strings.Join(strings.Fields(strings.Join(out, " ")), " ")
	if r := []rune(s); len(r) > previewMax {
		s = string(r[:previewMax-1]) + "…"
	}
	return s
}
