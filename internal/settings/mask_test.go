package settings_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/schematype"
	"github.com/parley-im/parley/internal/platform/dbtest"
	"github.com/parley-im/parley/internal/settings"
)

// TestMaskHook: with the hook on the client, what people write for others
// is stored masked, on create and on update, whoever writes it; words of
// the list in other fields (a username) stay.
func TestMaskHook(t *testing.T) {
	dbtest.EachClient(t, func(t *testing.T, c *ent.Client, sys context.Context) {
		s := settings.NewService(c)
		c.Use(s.MaskHook())
		words := []string{"bad", "傻瓜"}
		_, err := s.Update(sys, settings.Patch{DirtyWords: words})
		require.NoError(t, err)

		u := c.User.Create().SetUsername("badger").SetNickname("Bad boy").SetSign("你是傻瓜").SetPasswordHash("x").SetPublicID(1001).SaveX(sys)
		require.Equal(t, "badger", u.Username, "identifiers are not prose")
		require.Equal(t, "*** boy", u.Nickname)
		require.Equal(t, "你是**", u.Sign)
		u = u.Update().SetLocation("Badlands").SaveX(sys)
		require.Equal(t, "***lands", u.Location)
		c.User.Update().SetNickname("so bad").ExecX(sys)
		require.Equal(t, "so ***", c.User.GetX(sys, u.ID).Nickname, "bulk updates too")

		parts := settings.MaskPartsForTest([]schematype.MessagePart{
			{Category: "text", Content: "bad news"},
			{Category: "link", Content: "a bad link", URL: "https://example.com/bad"},
			{Category: "file", Name: "bad.pdf", FileID: 7},
		}, words)
		require.Equal(t, []schematype.MessagePart{
			{Category: "text", Content: "*** news"},
			{Category: "link", Content: "a *** link", URL: "https://example.com/bad"},
			{Category: "file", Name: "***.pdf", FileID: 7},
		}, parts)
	})
}
