package main

import (
	"context"
	"strconv"
	"strings"
	"testing"
)

// BenchmarkHistoryPageReceipts: the history page of BenchmarkHistoryPage
// with each message's receipts as the sender's chat window shows them
// (read and delivered), from parallel readers. Beside BenchmarkHistoryPage
// in the same run it is what the receipts add to a page.
func BenchmarkHistoryPageReceipts(b *testing.B) {
	benchReceipts(b, "read delivered")
}

func benchReceipts(b *testing.B, fields string) {
	be := newBenchEnv(b)
	ctx := context.Background()
	us := be.users(b, "brcpt", 2)
	var ids []string
	for i := 0; i < 60; i++ {
		q := ""
		if i%3 == 2 {
			q = ids[i-2]
		}
		m, err := be.cli.sendQuote(ctx, us[i%2], us[(i+1)%2].ID, "history "+strconv.Itoa(i), q)
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	conv, err := directConversation(ctx, be.cli, us[0], us[1].ID)
	if err != nil {
		b.Fatal(err)
	}
	query := strings.Replace(historyQuery, "id seq createdAt text", "id seq createdAt text "+fields, 1)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := be.cli.Query(ctx, us[0].Token, query, map[string]any{"c": conv}, nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkHistoryPageReadCount: the same page with readCount besides,
// which the same loader answers in the same statement.
func BenchmarkHistoryPageReadCount(b *testing.B) {
	benchReceipts(b, "read delivered readCount")
}
