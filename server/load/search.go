package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/lib/pq"

	"github.com/parley-im/parley/internal/platform/fulltext"
)

// searchVocabulary is the English of the seeded messages, drawn with a
// Zipf distribution in this order (the first words the most common).
var searchVocabulary = strings.Fields(`the you and to it is that of in we for this on have with be
are not what just can so at my was do but if they your all get like about me one will out now no time
how know there up good when think see go going today meeting please thanks ok yes need want work make
call send back tomorrow later night morning project message phone email team tonight week weekend
friday monday lunch dinner coffee office home car train flight ticket hotel room price order package
delivery address photo video picture link file document report review plan budget design release
update version server database query test build deploy error issue ticket branch merge commit feature
running runs ran walking talking looking waiting working testing shipping reading writing playing
happy sorry great nice cool awesome funny crazy weird strange quick slow early late busy free ready
birthday party present gift cake music movie game book story song concert festival holiday vacation
beach mountain river forest garden city village country island bridge tower castle museum library
school teacher student lesson exam homework class grade course university doctor nurse hospital
medicine fever headache appointment insurance bank account payment invoice salary contract lawyer
kitchen bedroom window door table chair sofa lamp carpet mirror shelf drawer cupboard balcony
rabbit turtle dolphin penguin giraffe elephant kangaroo squirrel butterfly octopus jellyfish`)

// searchChinese are the Chinese phrases of the seeded messages, drawn the
// same way.
var searchChinese = strings.Fields(`你好 谢谢 今天 明天 晚上 开会 项目 文件 发送 收到 好的 没问题 周末 吃饭 咖啡 上班
下班 报告 数据库 服务器 测试 发布 版本 二叉树的遍历 算法 链表 哈希表 排序 图论 动态规划 机器学习 深度学习
天气 下雨 出门 地铁 飞机 火车 酒店 旅行 电影 音乐 游戏 生日快乐 新年快乐 恭喜发财 加油 辛苦了 早上好 晚安`)

// searchText returns a seeded message: 5 to 12 English words, and half
// the time a Chinese phrase among them.
func searchText(r *rand.Rand, en, zh *rand.Zipf) string {
	n := 5 + r.IntN(8)
	words := make([]string, 0, n+1)
	for range n {
		words = append(words, searchVocabulary[en.Uint64()])
	}
	if r.IntN(2) == 0 {
		words = append(words[:n/2], append([]string{searchChinese[zh.Uint64()]}, words[n/2:]...)...)
	}
	return strings.Join(words, " ")
}

// searchQueries are the searches measured, from a common word to a
// Chinese pair inside a longer phrase.
var searchQueries = []struct{ name, query string }{
	{"common word (rank 8)", "what"},
	{"English stem (running)", "running"},
	{"rare word", "jellyfish"},
	{"two words", "coffee meeting"},
	{"Chinese pair (二叉 in 二叉树的遍历)", "二叉"},
	{"Chinese word", "数据库"},
}

const searchMessagesQuery = `query($q: String!) {
  searchMessages(query: $q, first: 20) {
    edges { snippet node { id seq createdAt text sender { id username nickname avatar } } }
  }
}`

// searchScenario fills the database with -search-messages messages (by
// SQL, with their index rows) in conversations of a reader and of others,
// then reads, one request at a time and alternating, each search of
// searchQueries and the plain indexed history page of the history
// scenario, and reports the p50 and p99 of each beside the history's.
func searchScenario(ctx context.Context, e *env) error {
	if e.db == nil {
		e.report.note("search: needs the in-process server (it seeds its database by SQL)")
		return nil
	}
	cli := newAPI(e.base, 4)
	const mine, others = 5, 15 // the reader's conversations, and others'
	people, err := cli.registerMany(ctx, "search", 1+mine+2*others, 4)
	if err != nil {
		return err
	}
	reader := people[0]
	var convs []int64
	var senders [][2]int64
	var historyConv string
	open := func(a, b user) error {
		if _, err := cli.sendMessage(ctx, a, b.ID, "hello", ""); err != nil {
			return err
		}
		c, err := directConversation(ctx, cli, a, b.ID)
		if err != nil {
			return err
		}
		if historyConv == "" {
			historyConv = c
		}
		id, _ := strconv.ParseInt(c, 10, 64)
		ai, _ := strconv.ParseInt(a.ID, 10, 64)
		bi, _ := strconv.ParseInt(b.ID, 10, 64)
		convs, senders = append(convs, id), append(senders, [2]int64{ai, bi})
		return nil
	}
	for i := 1; i <= mine; i++ {
		if err := open(reader, people[i]); err != nil {
			return err
		}
	}
	for i := 0; i < others; i++ {
		if err := open(people[1+mine+2*i], people[2+mine+2*i]); err != nil {
			return err
		}
	}
	total := e.opt.searchMessages
	t0 := time.Now()
	if err := seedSearch(ctx, e.db.db, convs, senders, total); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	fmt.Fprintf(os.Stderr, "   seeded %d messages in %d conversations (%d of them the reader's) in %s\n",
		total, len(convs), mine, time.Since(t0).Round(time.Second))

	var hist historyResult
	if err := cli.Query(ctx, reader.Token, historyQuery, map[string]any{"c": historyConv}, &hist); err != nil {
		return err
	}
	if len(hist.Messages.Edges) != 50 {
		return fmt.Errorf("history page has %d messages, want 50", len(hist.Messages.Edges))
	}
	type result struct {
		SearchMessages struct {
			Edges []struct{ Snippet string }
		}
	}
	for _, q := range searchQueries {
		var r result
		if err := cli.Query(ctx, reader.Token, searchMessagesQuery, map[string]any{"q": q.query}, &r); err != nil {
			return fmt.Errorf("search %q: %w", q.query, err)
		}
		if len(r.SearchMessages.Edges) == 0 || !strings.Contains(r.SearchMessages.Edges[0].Snippet, fulltext.MarkOpen) {
			return fmt.Errorf("search %q found nothing marked", q.query)
		}
	}
	// One request at a time, search and history alternating, so that both
	// see the same machine (caches, other load) throughout.
	searches := make([]durations, len(searchQueries))
	var history durations
	end := time.Now().Add(e.opt.warmup + e.opt.duration)
	measureFrom := time.Now().Add(e.opt.warmup)
	for i := 0; time.Now().Before(end) && ctx.Err() == nil; i++ {
		k := i % len(searchQueries)
		s0 := time.Now()
		if err := cli.Query(ctx, reader.Token, searchMessagesQuery, map[string]any{"q": searchQueries[k].query}, nil); err != nil {
			return err
		}
		h0 := time.Now()
		if err := cli.Query(ctx, reader.Token, historyQuery, map[string]any{"c": historyConv}, nil); err != nil {
			return err
		}
		if s0.After(measureFrom) {
			searches[k].add(h0.Sub(s0))
			history.add(time.Since(h0))
		}
	}
	h := history.snapshot()
	for k, q := range searchQueries {
		s := searches[k].snapshot()
		matches, err := searchMatches(ctx, e.db.db, q.query)
		if err != nil {
			return err
		}
		e.report.add(row{
			scenario: "search",
			figure:   fmt.Sprintf("searchMessages first 20, %s, %d matches of %d messages", q.name, matches, total),
			value:    fmt.Sprintf("p50 %s, p99 %s (n=%d)", ms(pct(s, 50)), ms(pct(s, 99)), len(s)),
			baseline: fmt.Sprintf("history page p50 %s, p99 %s", ms(pct(h, 50)), ms(pct(h, 99))),
			ratio:    float64(pct(h, 50)) / float64(max(pct(s, 50), 1)),
			ratioOf:  "history/search at p50",
			goal:     "(measured)",
		})
	}
	return nil
}

// searchMatches counts the messages of the whole database that q matches.
func searchMatches(ctx context.Context, db *sql.DB, q string) (int, error) {
	var terms []string
	for _, t := range fulltext.Parse(q).Terms {
		terms = append(terms, "'"+t.Token+"'")
	}
	var n int
	err := db.QueryRowContext(ctx, `SELECT count(*) FROM message_search WHERE doc @@ $1::tsquery`, strings.Join(terms, " & ")).Scan(&n)
	return n, err
}

// seedSearch inserts total messages, spread over convs (a third of them in
// the first, the history read), each sent by one of the conversation's
// two members, with their full-text index rows, in batches of one
// statement each; then it updates the conversations' numbering and
// analyzes the tables.
func seedSearch(ctx context.Context, db *sql.DB, convs []int64, senders [][2]int64, total int) error {
	r := rand.New(rand.NewPCG(1, 2))
	en := rand.NewZipf(r, 1.1, 2, uint64(len(searchVocabulary)-1))
	zh := rand.NewZipf(r, 1.1, 2, uint64(len(searchChinese)-1))
	// The GIN index is built once at the end: faster than row by row.
	if _, err := db.ExecContext(ctx, `DROP INDEX IF EXISTS message_search_doc`); err != nil {
		return err
	}
	const batch = 5000
	start := time.Now().Add(-365 * 24 * time.Hour)
	step := 365 * 24 * time.Hour / time.Duration(total)
	seq := map[int64]int64{}
	for _, c := range convs {
		var last int64
		if err := db.QueryRowContext(ctx, `SELECT last_seq FROM conversations WHERE id = $1`, c).Scan(&last); err != nil {
			return err
		}
		seq[c] = last
	}
	for done := 0; done < total; {
		n := min(batch, total-done)
		var (
			times, parts, docs []string
			seqs, sender, conv []int64
			texts              []string
		)
		for j := range n {
			k := done + j
			ci := 0
			if k%3 != 0 {
				ci = 1 + r.IntN(len(convs)-1)
			}
			c := convs[ci]
			seq[c]++
			text := searchText(r, en, zh)
			p, _ := json.Marshal([]map[string]string{{"category": "text", "content": text}})
			times = append(times, start.Add(time.Duration(k)*step).UTC().Format(time.RFC3339Nano))
			seqs, conv, sender = append(seqs, seq[c]), append(conv, c), append(sender, senders[ci][r.IntN(2)])
			parts, texts = append(parts, string(p)), append(texts, text)
		}
		rows, err := db.QueryContext(ctx, `INSERT INTO messages (created_at, seq, kind, type, parts, conversation_id, sender_id)
			SELECT t, s, 'text', 'normal', p, c, u
			FROM unnest($1::timestamptz[], $2::bigint[], $3::text[], $4::bigint[], $5::bigint[]) AS x(t, s, p, c, u)
			RETURNING id, conversation_id, seq`, pq.Array(times), pq.Array(seqs), pq.Array(parts), pq.Array(conv), pq.Array(sender))
		if err != nil {
			return err
		}
		type key struct{ conv, seq int64 }
		textOf := make(map[key]string, n)
		for j := range texts {
			textOf[key{conv[j], seqs[j]}] = texts[j]
		}
		var ids []int64
		for rows.Next() {
			var id int64
			var k key
			if err := rows.Scan(&id, &k.conv, &k.seq); err != nil {
				rows.Close()
				return err
			}
			ids, docs = append(ids, id), append(docs, fulltext.Vector(textOf[k]))
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(ids) != n {
			return fmt.Errorf("inserted %d messages, want %d", len(ids), n)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO message_search (message_id, doc)
			SELECT i, d::tsvector FROM unnest($1::bigint[], $2::text[]) AS x(i, d)`, pq.Array(ids), pq.Array(docs)); err != nil {
			return err
		}
		done += n
		if done%100000 == 0 {
			fmt.Fprintf(os.Stderr, "   seeded %d\n", done)
		}
	}
	for _, c := range convs {
		if _, err := db.ExecContext(ctx, `UPDATE conversations SET last_seq = $2, last_message_at = now() WHERE id = $1`, c, seq[c]); err != nil {
			return err
		}
	}
	if err := fulltext.Migrate(ctx, db, true); err != nil { // the GIN index again
		return err
	}
	_, err := db.ExecContext(ctx, `ANALYZE messages; ANALYZE message_search; ANALYZE conversation_members`)
	return err
}
