// Package schematype holds Go types stored in ent JSON columns. They live
// outside ent/schema so that generated code can import them without a cycle.
package schematype

// MessagePart is one part of a message (seed 001 sends several per message).
type MessagePart struct {
	Category string `json:"category"` // text, emoji, image, voice, file, link
	Content  string `json:"content,omitempty"`
	FileID   int    `json:"fileId,omitempty"`
	Name     string `json:"name,omitempty"`
	Size     int64  `json:"size,omitempty"`
	URL      string `json:"url,omitempty"`
}
