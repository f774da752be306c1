package files

import "github.com/dustin/go-humanize"

// HumanSize is a byte count as people read it, in SI units with at most one
// decimal: "812 B", "1.2 MB", "45 MB" (a "human size").
func HumanSize(n int64) string {
	if n < 0 {
		n = 0
	}
	return humanize.Bytes(uint64(n))
}
