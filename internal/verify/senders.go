package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// LogSender writes codes to the log: the development default, so that a
// developer can register with a phone without an SMS gateway.
type LogSender struct{ Log *slog.Logger }

// Send logs the code.
func (s LogSender) Send(ctx context.Context, phone, code string, purpose Purpose) error {
	s.Log.InfoContext(ctx, "verification code (log sender: configure PARLEY_SMS_WEBHOOK for real SMS)",
		"phone", phone, "purpose", string(purpose), "code", code)
	return nil
}

// WebhookSender posts each code as JSON ({"phone","code","purpose"}) to an
// SMS gateway's URL; any 2xx answer means sent.
type WebhookSender struct {
	URL    string
	Client *http.Client
}

// NewWebhookSender returns a sender for url with a bounded timeout.
func NewWebhookSender(url string) *WebhookSender {
	return &WebhookSender{URL: url, Client: &http.Client{Timeout: 10 * time.Second}}
}

// Send posts the code.
func (s *WebhookSender) Send(ctx context.Context, phone, code string, purpose Purpose) error {
	body, _ := json.Marshal(map[string]string{"phone": phone, "code": code, "purpose": string(purpose)})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("verify: webhook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	rsp, err := s.Client.Do(req)
	if err != nil {
		return fmt.Errorf("verify: webhook: %w", err)
	}
	defer rsp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(rsp.Body, 1<<16))
	if rsp.StatusCode/100 != 2 {
		return fmt.Errorf("verify: webhook answered %s", rsp.Status)
	}
	return nil
}

// Recorder keeps the codes it is given, per phone: the sender tests and
// local tools read codes from, never the API.
type Recorder struct {
	mu    sync.Mutex
	codes map[string]string
}

// Send records the code.
func (r *Recorder) Send(_ context.Context, phone, code string, _ Purpose) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.codes == nil {
		r.codes = map[string]string{}
	}
	r.codes[phone] = code
	return nil
}

// Last returns the last code sent to phone.
func (r *Recorder) Last(phone string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.codes[phone]
}
