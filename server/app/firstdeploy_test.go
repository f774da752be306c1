package app_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/internal/platform/dbtest"
	"github.com/parley-im/parley/server/app"
	"github.com/parley-im/parley/server/apptest"
)

// TestInstancesStartTogether: several instances started at once on an
// empty PostgreSQL schema all start: one migrates, the others wait for it
// (an advisory lock) instead of failing on the tables it is creating. Each
// instance is a process of its own, as in a deployment, since instances in
// one process migrate one at a time anyway.
func TestInstancesStartTogether(t *testing.T) {
	t.Parallel()
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		t.Skip("needs PostgreSQL: set TEST_DATABASE_URL (CI does)")
	}
	url := dbtest.Schema(t, base)
	gate := filepath.Join(t.TempDir(), "go")
	const instances = 4
	cmds := make([]*exec.Cmd, instances)
	outs := make([]*bytes.Buffer, instances)
	for i := range cmds {
		cmd := exec.Command(os.Args[0], "-test.run=^TestInstanceProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), "PARLEY_TEST_INSTANCE_URL="+url, "PARLEY_TEST_INSTANCE_GATE="+gate)
		outs[i] = new(bytes.Buffer)
		cmd.Stdout, cmd.Stderr = outs[i], outs[i]
		require.NoError(t, cmd.Start())
		cmds[i] = cmd
	}
	require.NoError(t, os.WriteFile(gate, nil, 0o600)) // all at once
	for i, cmd := range cmds {
		require.NoError(t, cmd.Wait(), "instance %d:\n%s", i, outs[i])
	}
	// And the schema they made serves.
	s := start(t, apptest.Config(t, url))
	s.Register("alice", nil)
}

// TestInstanceProcess is one instance of TestInstancesStartTogether: it
// waits for the gate, starts an App on the shared schema and stops it.
func TestInstanceProcess(t *testing.T) {
	url, gate := os.Getenv("PARLEY_TEST_INSTANCE_URL"), os.Getenv("PARLEY_TEST_INSTANCE_GATE")
	if url == "" {
		t.Skip("a process of TestInstancesStartTogether")
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Millisecond) {
		if _, err := os.Stat(gate); err == nil {
			break
		}
		require.True(t, time.Now().Before(deadline), "the gate never opened")
	}
	a, err := app.New(context.Background(), apptest.Config(t, url), apptest.Logger())
	if err != nil {
		fmt.Println(err)
	}
	require.NoError(t, err)
	require.NoError(t, a.Close())
}
