package verify_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/internal/verify"
)

// TestWebhookSender posts to a real HTTP server, as an SMS gateway would
// receive it, and reports a gateway's failure.
func TestWebhookSender(t *testing.T) {
	var got map[string]string
	status := http.StatusAccepted
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "application/json", r.Header.Get("Content-Type"))
		require.NoError(t, json.NewDecoder(r.Body).Decode(&got))
		w.WriteHeader(status)
	}))
	defer gw.Close()

	s := verify.NewWebhookSender(gw.URL)
	require.NoError(t, s.Send(context.Background(), "+8613800000000", "123456", verify.Register))
	require.Equal(t, map[string]string{"phone": "+8613800000000", "code": "123456", "purpose": "register"}, got)

	status = http.StatusBadGateway
	require.ErrorContains(t, s.Send(context.Background(), "+8613800000000", "654321", verify.Forget), "502")
}
