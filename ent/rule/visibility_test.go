package rule_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"github.com/stretchr/testify/require"
	"modernc.org/sqlite"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/conversation"
	"github.com/parley-im/parley/ent/message"
	"github.com/parley-im/parley/ent/rule"
	_ "github.com/parley-im/parley/ent/runtime"
	"github.com/parley-im/parley/ent/schematype"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/server/pgtest"
)

func init() { sql.Register("sqlite3", &sqlite.Driver{}) }

// clients returns a fresh client on SQLite, and one on PostgreSQL when
// TEST_DATABASE_URL is set.
func clients(t *testing.T) map[string]*ent.Client {
	t.Helper()
	open := func(driver, name, dsn string) *ent.Client {
		db, err := sql.Open(driver, dsn)
		require.NoError(t, err)
		c := ent.NewClient(ent.Driver(entsql.OpenDB(name, db)))
		t.Cleanup(func() { c.Close() })
		require.NoError(t, c.Schema.Create(context.Background()))
		return c
	}
	out := map[string]*ent.Client{
		"sqlite": open("sqlite3", dialect.SQLite, "file:"+filepath.Join(t.TempDir(), "t.db")+"?_pragma=foreign_keys(1)&_pragma=busy_timeout(5000)"),
	}
	if base := os.Getenv("TEST_DATABASE_URL"); base != "" {
		out["postgres"] = open("postgres", dialect.Postgres, pgtest.Schema(t, base))
	}
	return out
}

// TestMessageVisibilityForms: for random conversations, memberships, floors
// and hidden messages, the policy (each user reading as himself) and
// MessageReaders (one question for all users) give the same readers, and
// the policy's answer is the rule written out in Go.
func TestMessageVisibilityForms(t *testing.T) {
	for name, c := range clients(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			sys := viewer.SystemContext(ctx)
			rnd := rand.New(rand.NewPCG(1, 2))
			var users []int
			for i := range 6 {
				u := c.User.Create().SetUsername(fmt.Sprintf("u%d", i)).SetNickname("u").SetPasswordHash("!").SetPublicID(int64(10_000_000 + i)).SaveX(sys)
				users = append(users, u.ID)
			}
			type membership struct {
				active bool
				floor  int64
			}
			type seen struct{ msg, uid int }
			want := map[seen]bool{}
			var msgs []*ent.Message
			for ci, kind := range []conversation.Kind{conversation.KindDirect, conversation.KindGroup, conversation.KindRoom, conversation.KindGroup} {
				conv := c.Conversation.Create().SetKind(kind).SaveX(sys)
				members := map[int]membership{}
				for _, uid := range users {
					if rnd.IntN(3) == 0 {
						continue // not a member
					}
					m := membership{active: rnd.IntN(4) != 0, floor: int64(rnd.IntN(6))}
					members[uid] = m
					c.ConversationMember.Create().SetConversationID(conv.ID).SetUserID(uid).
						SetActive(m.active).SetClearedSeq(m.floor).ExecX(sys)
				}
				for seq := int64(1); seq <= 6; seq++ {
					msg := c.Message.Create().SetConversationID(conv.ID).SetSeq(seq).SetKind(message.KindText).
						SetParts([]schematype.MessagePart{{Category: "text", Content: fmt.Sprint(ci, seq)}}).SaveX(sys)
					hidden := map[int]bool{}
					for _, uid := range users {
						if rnd.IntN(5) == 0 {
							hidden[uid] = true
							c.Message.UpdateOne(msg).AddHiddenForIDs(uid).ExecX(sys)
						}
					}
					for _, uid := range users {
						m, member := members[uid]
						var sees bool
						if kind == conversation.KindRoom {
							sees = !member || m.floor < seq
						} else {
							sees = member && m.active && m.floor < seq
						}
						want[seen{msg.ID, uid}] = sees && !hidden[uid]
					}
					msgs = append(msgs, msg)
				}
			}
			for _, msg := range msgs {
				readers, err := rule.MessageReaders(ctx, c, msg, users)
				require.NoError(t, err)
				for _, uid := range users {
					asHim := viewer.NewContext(ctx, &viewer.Viewer{UserID: uid})
					policy, err := c.Message.Query().Where(message.ID(msg.ID)).Exist(asHim)
					require.NoError(t, err)
					require.Equal(t, want[seen{msg.ID, uid}], policy, "policy: user %d, message %d", uid, msg.ID)
					require.Equal(t, policy, readers[uid], "MessageReaders: user %d, message %d", uid, msg.ID)
				}
			}
		})
	}
}
