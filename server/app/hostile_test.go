package app_test

// Hostile input: a corpus of malformed and hostile requests,
// each with the answer it must get, run against the real handler on every
// backend. Then the server must still be healthy, its goroutines back to
// their baseline and its heap bounded.
//
// The corpus is data where that reads best (testdata/hostile/*.json:
// transport and GraphQL-level cases) and code where cases are generated
// (an overlong value for every string input field, forged tokens, huge
// bodies, uploads, WebSocket protocol violations). Every case states the
// HTTP status and, where the answer is a GraphQL error, its extensions.code
// and reason. Beyond that, every answer is checked for what must never
// happen: a 500, INTERNAL_SERVER_ERROR for a client's mistake, or leaked
// SQL, driver or stack text.
//
//	go test ./server/app/ -run Hostile -count=1 -v
//	HOSTILE_RECORD=1 go test ./server/app/ -run Hostile -count=1 -v  # print every answer
//
// The backends run one after the other, not in parallel, and the test is
// not parallel either: the goroutine and heap checks read process-wide
// counters.

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql/introspection"
	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/parley-im/parley/internal/platform/dbtest"
	"github.com/parley-im/parley/server/app"
	"github.com/parley-im/parley/server/apptest"
)

// hostileCase is one request and the answer it must get.
type hostileCase struct {
	Name   string            `json:"name"`
	Method string            `json:"method"` // POST unless set
	Path   string            `json:"path"`   // /query unless set
	Header map[string]string `json:"headers"`
	As     string            `json:"as"` // alice, bob or carol; anonymous when empty

	// The body: raw, repeated, or a GraphQL request built from query,
	// variables and operationName. @NAME@ placeholders are replaced by the
	// fixture's ids (hostileFixture.vars).
	Body          *string         `json:"body"`
	BodyRepeat    *repeat         `json:"bodyRepeat"`
	Query         *string         `json:"query"`
	QueryRepeat   *repeat         `json:"queryRepeat"`
	FragmentBomb  int             `json:"fragmentBomb"` // levels of fragments spreading the previous one twice
	Cheap         bool            `json:"cheap"`        // the bomb's leaf is __typename-free but cheap
	GraphiQL      bool            `json:"graphiql"`     // the full introspection query
	Variables     json.RawMessage `json:"variables"`
	OperationName string          `json:"operationName"`

	raw     []byte // a body built in code
	token   string // a bearer token built in code (overrides As)
	request func(f *hostileFixture) *http.Request
	// exchange sends a request net/http would refuse to send, over a raw
	// connection, and returns the answer's status and body.
	exchange func(f *hostileFixture) (int, []byte, error)

	// The answer.
	Status int    `json:"status"`
	Code   string `json:"code"`   // extensions.code of the first error; empty: no error expected, unless Status >= 400
	Reason string `json:"reason"` // extensions.reason, when set
	Field  string `json:"field"`  // extensions.field, when set
	// AnyReason accepts any reason but requires one.
	AnyReason bool `json:"anyReason"`
	// KnownBug names a reported bug outside this test's reach: the case's
	// failures are logged, not failed, until it is fixed.
	KnownBug string `json:"knownBug"`
	// KnownBugOn limits KnownBug to one backend (sqlite, postgres).
	KnownBugOn string `json:"knownBugOn"`
}

// repeat builds prefix + unit×count (+ middle + close×count) + suffix; @N@
// in unit is replaced by the repetition's index.
type repeat struct {
	Prefix string `json:"prefix"`
	Unit   string `json:"unit"`
	Count  int    `json:"count"`
	Middle string `json:"middle"`
	Close  string `json:"close"`
	Suffix string `json:"suffix"`
}

func (r repeat) build() string {
	var b strings.Builder
	b.WriteString(r.Prefix)
	for i := range r.Count {
		b.WriteString(strings.ReplaceAll(r.Unit, "@N@", fmt.Sprint(i)))
	}
	b.WriteString(r.Middle)
	b.WriteString(strings.Repeat(r.Close, r.Count))
	b.WriteString(r.Suffix)
	return b.String()
}

// hostileFixture is the server under attack and the data the cases point
// at.
type hostileFixture struct {
	s                  *server
	client             *http.Client
	alice, bob, carol  account
	vars               map[string]string
	cfgMaxBody         int64
	maxFile, maxUpload int64
	secret             []byte
}

func TestHostile(t *testing.T) {
	cases := loadHostileCorpus(t)
	for _, b := range dbtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			before := goleak.IgnoreCurrent()
			runHostile(t, b, cases)
			goleak.VerifyNone(t, before, goleak.IgnoreAnyFunction("database/sql.(*DB).connectionOpener"))
		})
	}
}

func loadHostileCorpus(t *testing.T) []hostileCase {
	var cases []hostileCase
	files, err := filepath.Glob("testdata/hostile/*.json")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		raw, err := os.ReadFile(file)
		require.NoError(t, err)
		var list []hostileCase
		require.NoError(t, json.Unmarshal(raw, &list), file)
		for i := range list {
			list[i].Name = strings.TrimSuffix(filepath.Base(file), ".json") + ": " + list[i].Name
		}
		cases = append(cases, list...)
	}
	return cases
}

func runHostile(t *testing.T, b dbtest.Backend, corpus []hostileCase) {
	cfg := apptest.Config(t, b.URL(t))
	cfg.MaxFileBytes, cfg.MaxImageBytes, cfg.MaxAvatarBytes, cfg.MaxVoiceBytes = 256<<10, 64<<10, 64<<10, 64<<10
	cfg.WSInitTimeout = 300 * time.Millisecond
	cfg.MaxSubscriptions = 4
	s := start(t, cfg) // closed below, before the leak check; its cleanup closes again, harmlessly
	f := newHostileFixture(t, s, cfg)

	all := append(append([]hostileCase{}, corpus...), generatedHostileCases(f)...)
	ws := websocketHostileCases()
	families := map[string]int{}
	for _, c := range all {
		family, _, _ := strings.Cut(c.Name, " ")
		families[strings.TrimSuffix(family, ":")]++
	}
	t.Logf("%d HTTP cases (%d from testdata), %d WebSocket cases; by family %v", len(all), len(corpus), len(ws), families)
	require.GreaterOrEqual(t, len(all)+len(ws), 200, "the corpus has at least 200 cases")

	// Baselines, once the fixture is built and idle.
	f.client.CloseIdleConnections()
	baseGoroutines := settledGoroutines()
	baseHeap := heapAlloc()

	start := time.Now()
	var failures []string
	for _, c := range all {
		if c.KnownBugOn != "" && c.KnownBugOn != b.Name {
			c.KnownBug = ""
		}
		problems := f.runHTTP(t, c)
		switch {
		case c.KnownBug != "" && len(problems) > 0:
			t.Logf("KNOWN BUG (%s): %s", c.KnownBug, strings.Join(problems, "; "))
		case c.KnownBug != "":
			t.Logf("known bug no longer reproduces on %s, drop the marker: %s (%s)", b.Name, c.Name, c.KnownBug)
		default:
			failures = append(failures, problems...)
		}
	}
	httpTime := time.Since(start)
	for _, c := range ws {
		failures = append(failures, f.runWS(t, c)...)
	}
	t.Logf("HTTP cases took %v, WebSocket cases %v", httpTime.Round(time.Millisecond), (time.Since(start) - httpTime).Round(time.Millisecond))
	for _, msg := range failures {
		t.Error(msg)
	}

	// Still healthy: probes answer and a normal query works.
	res, err := f.client.Get(s.URL + "/healthz")
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	res, err = f.client.Get(s.URL + "/readyz")
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	s.Send(f.alice, f.bob, "still here")
	var me struct{ Me struct{ Username string } }
	s.OK(f.alice.Token, `{ me { username } }`, nil, &me)
	require.Equal(t, "alice", me.Me.Username)

	// Goroutines back to their baseline: no request, connection or
	// subscription left behind.
	f.client.CloseIdleConnections()
	http.DefaultClient.CloseIdleConnections()
	var now int
	require.Eventually(t, func() bool {
		now = runtime.NumGoroutine()
		return now <= baseGoroutines+5
	}, 15*time.Second, 50*time.Millisecond, "goroutines: %d before the corpus, %d after", baseGoroutines, now)
	heap := heapAlloc()
	t.Logf("goroutines %d -> %d, heap %d MiB -> %d MiB", baseGoroutines, runtime.NumGoroutine(), baseHeap>>20, heap>>20)
	require.Less(t, heap, baseHeap+64<<20, "heap grew by more than 64 MiB")

	// And everything ends when the server stops (goleak in TestHostile).
	s.App.Close()
	s.HTTP.Close()
	f.client.CloseIdleConnections()
	http.DefaultClient.CloseIdleConnections()
}

func settledGoroutines() int {
	n := runtime.NumGoroutine()
	for range 20 {
		time.Sleep(20 * time.Millisecond)
		m := runtime.NumGoroutine()
		if m == n {
			break
		}
		n = m
	}
	return n
}

func heapAlloc() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func newHostileFixture(t *testing.T, s *server, cfg app.Config) *hostileFixture {
	f := &hostileFixture{
		s:          s,
		client:     &http.Client{Transport: &http.Transport{}, Timeout: 30 * time.Second},
		cfgMaxBody: cfg.MaxBodyBytes,
		maxFile:    cfg.MaxFileBytes,
		secret:     cfg.JWTSecret,
	}
	f.alice = s.Register("alice", map[string]any{"phone": "13800000001", "email": "alice@example.com"})
	f.bob = s.Register("bob", nil)
	f.carol = s.Register("carol", nil)
	msg := s.Send(f.alice, f.bob, "hello bob")
	var conv struct {
		Node struct{ Conversation struct{ ID string } }
	}
	s.OK(f.alice.Token, `query($id: ID!) { node(id: $id) { ... on Message { conversation { id } } } }`, map[string]any{"id": msg.ID}, &conv)
	var p struct{ CreateProject struct{ ID string } }
	s.OK(f.alice.Token, `mutation { createProject(input: {name: "corpus"}) { id } }`, nil, &p)
	var text struct{ AddText struct{ ID string } }
	s.OK(f.alice.Token, `mutation($p: ID!) { addText(input: {projectId: $p, name: "t", content: "hello world"}) { id } }`, map[string]any{"p": p.CreateProject.ID}, &text)
	var ent struct{ AddEntity struct{ ID string } }
	s.OK(f.alice.Token, `mutation($p: ID!) { addEntity(input: {projectId: $p, name: "e", label: "PER"}) { id } }`, map[string]any{"p": p.CreateProject.ID}, &ent)
	var search struct {
		SearchUsers struct{ Edges []struct{ Cursor string } }
	}
	s.OK(f.alice.Token, `{ searchUsers(query: "b", first: 1) { edges { cursor } } }`, nil, &search)
	require.NotEmpty(t, search.SearchUsers.Edges)
	f.vars = map[string]string{
		"@ALICE_ID@": f.alice.ID, "@BOB_ID@": f.bob.ID, "@CAROL_ID@": f.carol.ID,
		"@MSG_ID@": msg.ID, "@CONV_ID@": conv.Node.Conversation.ID,
		"@PROJECT_ID@": p.CreateProject.ID, "@TEXT_ID@": text.AddText.ID, "@ENTITY_ID@": ent.AddEntity.ID,
		"@FRIEND_CURSOR@": search.SearchUsers.Edges[0].Cursor,
		"@LONG1025@":      strings.Repeat("q", 1025),
	}
	return f
}

func (f *hostileFixture) expand(s string) string {
	for k, v := range f.vars {
		s = strings.ReplaceAll(s, k, v)
	}
	return s
}

func (f *hostileFixture) token(c hostileCase) string {
	if c.token != "" {
		return c.token
	}
	switch c.As {
	case "alice":
		return f.alice.Token
	case "bob":
		return f.bob.Token
	case "carol":
		return f.carol.Token
	}
	return ""
}

// body builds a case's request body.
func (f *hostileFixture) body(c hostileCase) []byte {
	switch {
	case c.raw != nil:
		return c.raw
	case c.Body != nil:
		return []byte(f.expand(*c.Body))
	case c.BodyRepeat != nil:
		return []byte(f.expand(c.BodyRepeat.build()))
	}
	var query string
	switch {
	case c.Query != nil:
		query = f.expand(*c.Query)
	case c.QueryRepeat != nil:
		query = f.expand(c.QueryRepeat.build())
	case c.FragmentBomb > 0:
		query = fragmentBomb(c.FragmentBomb, c.Cheap, f.vars["@CONV_ID@"])
	case c.GraphiQL:
		query = introspection.Query
	default:
		return nil
	}
	req := map[string]any{"query": query}
	if len(c.Variables) > 0 {
		req["variables"] = json.RawMessage(f.expand(string(c.Variables)))
	}
	if c.OperationName != "" {
		req["operationName"] = c.OperationName
	}
	out, _ := json.Marshal(req)
	return out
}

// fragmentBomb is the billion-laughs of GraphQL: fragment Fi spreads F(i-1)
// twice beside a field of its own, so a few hundred bytes name 2^levels
// fields. Validation must not expand it, and the cost must saturate.
func fragmentBomb(levels int, cheap bool, conv string) string {
	leaf := "messages(first: 10) { totalCount }"
	if cheap {
		leaf = "id"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "{ node(id: %q) { ...F%d } }\nfragment F0 on Conversation { %s }\n", conv, levels, leaf)
	for i := 1; i <= levels; i++ {
		fmt.Fprintf(&b, "fragment F%d on Conversation { f%d: id ...F%d ...F%d }\n", i, i, i-1, i-1)
	}
	return b.String()
}

// leaks are texts that must never reach a client: SQL and driver errors,
// Go stack traces and panics.
var leaks = regexp.MustCompile(`(?i)(\bsql: |\bpq: |SQLSTATE|sqlite|SQL logic error|syntax error at or near|goroutine \d|panic|runtime error|\.go:\d+|\bent: |constraint failed|violates|duplicate key)`)

// runHTTP sends one case and returns what is wrong with its answer.
func (f *hostileFixture) runHTTP(t *testing.T, c hostileCase) []string {
	if c.exchange != nil {
		start := time.Now()
		status, raw, err := c.exchange(f)
		if err != nil {
			return []string{fmt.Sprintf("%s: no answer: %v", c.Name, err)}
		}
		return judge(c, status, raw, time.Since(start))
	}
	var req *http.Request
	if c.request != nil {
		req = c.request(f)
	} else {
		method := c.Method
		if method == "" {
			method = http.MethodPost
		}
		path := c.Path
		if path == "" {
			path = "/query"
		}
		var body io.Reader
		if b := f.body(c); b != nil {
			body = bytes.NewReader(b)
		}
		var err error
		req, err = http.NewRequest(method, f.s.URL+f.expand(path), body)
		require.NoError(t, err, c.Name)
		if method == http.MethodPost {
			req.Header.Set("Content-Type", "application/json")
		}
		for k, v := range c.Header {
			if v == "" {
				req.Header.Del(k)
				continue
			}
			req.Header.Set(k, v)
		}
		if tok := f.token(c); tok != "" && req.Header.Get("Authorization") == "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
	}
	start := time.Now()
	res, err := f.client.Do(req)
	if err != nil {
		return []string{fmt.Sprintf("%s: no answer: %v", c.Name, err)}
	}
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 16<<20))
	res.Body.Close()
	elapsed := time.Since(start)
	return judge(c, res.StatusCode, raw, elapsed)
}

// maxErrorMessage bounds an error message: Parley's own messages are a
// sentence, and quote client input through apperr.Clip.
const maxErrorMessage = 512

// judge compares an answer with the case's expectation.
func judge(c hostileCase, status int, raw []byte, elapsed time.Duration) []string {
	var errs []struct {
		Message    string         `json:"message"`
		Extensions map[string]any `json:"extensions"`
	}
	var body struct {
		Errors json.RawMessage `json:"errors"`
	}
	isJSON := json.Unmarshal(raw, &body) == nil
	if isJSON && len(body.Errors) > 0 {
		json.Unmarshal(body.Errors, &errs)
	}
	var code, reason, field string
	if len(errs) > 0 {
		code, _ = errs[0].Extensions["code"].(string)
		reason, _ = errs[0].Extensions["reason"].(string)
		field, _ = errs[0].Extensions["field"].(string)
	}
	if os.Getenv("HOSTILE_RECORD") != "" {
		msg := ""
		if len(errs) > 0 {
			msg = errs[0].Message
		}
		if len(msg) > 100 {
			msg = msg[:100]
		}
		fmt.Printf("RECORD %-70q status=%d code=%s reason=%s field=%s %v msg=%q\n", c.Name, status, code, reason, field, elapsed.Round(time.Millisecond), msg)
	}
	var problems []string
	bad := func(format string, args ...any) {
		snippet := string(raw)
		if len(snippet) > 300 {
			snippet = snippet[:300] + "…"
		}
		problems = append(problems, fmt.Sprintf("%s: %s\n\tanswer %d %s", c.Name, fmt.Sprintf(format, args...), status, snippet))
	}
	if status >= 500 {
		bad("server error")
	}
	if c.Status != 0 && status != c.Status {
		bad("status %d, want %d", status, c.Status)
	}
	if c.Code != "" && code != c.Code {
		bad("code %q, want %q", code, c.Code)
	}
	if c.Code == "" && c.Status > 0 && c.Status < 300 && len(errs) > 0 {
		bad("unexpected error %q (%s)", code, errs[0].Message)
	}
	if c.Reason != "" && reason != c.Reason {
		bad("reason %q, want %q", reason, c.Reason)
	}
	if c.AnyReason && reason == "" {
		bad("no reason")
	}
	if c.Field != "" && field != c.Field {
		bad("field %q, want %q", field, c.Field)
	}
	for _, e := range errs {
		if ec, _ := e.Extensions["code"].(string); ec == "INTERNAL_SERVER_ERROR" && c.Code != ec {
			bad("internal error for a client's mistake: %s", e.Message)
		}
		if ec, _ := e.Extensions["code"].(string); ec == "" {
			bad("error without a code: %s", e.Message)
		}
		// A message quotes at most a short prefix of what the client sent
		// (apperr.Clip): a megabyte input is never reflected back.
		if len(e.Message) > maxErrorMessage {
			bad("message of %d bytes reflects the request: %.120q…", len(e.Message), e.Message)
		}
	}
	// Only error answers are scanned: data may echo what the client sent.
	if status >= 400 || len(errs) > 0 {
		if m := leaks.Find(raw); m != nil {
			bad("leaks %q", m)
		}
	}
	// A hang guard, not a speed test: the race detector on a shared
	// 2-core machine makes slow answers normal; only a stuck one is a bug.
	if elapsed > 25*time.Second {
		bad("took %v", elapsed)
	}
	return problems
}

// generatedHostileCases are the cases built in code.
func generatedHostileCases(f *hostileFixture) []hostileCase {
	var out []hostileCase
	out = append(out, overlongCases()...)
	out = append(out, tokenCases(f)...)
	out = append(out, bodySizeCases(f)...)
	out = append(out, uploadCases(f)...)
	out = append(out, idCases()...)
	return out
}

// overlongField is one string input field and how to send it.
type overlongField struct {
	family, field string
	as            string
	query         string         // the operation, with $v as the overlong value
	vars          map[string]any // the other variables; $v is added
	code, reason  string         // expected; code BAD_USER_INPUT and any reason unless set
	noError       bool           // a filter or look-up: an empty answer, no error
	// small is the expectation for the 5,000-character value when it is
	// within the field's limit or fails differently.
	small      *overlongField
	knownBug   string
	knownBugOn string
}

// overlongFields lists every string input of the API with a limit, per
// input family (accounts, profile, messages, canned replies, friends,
// annotation, settings).
func overlongFields() []overlongField {
	reg := func(field string, reason string) overlongField {
		in := map[string]any{"username": "longuser", "password": "password1"}
		return overlongField{family: "register", field: field, query: `mutation($in: RegisterInput!) { register(input: $in) { accessToken } }`,
			vars: map[string]any{"in": in}, reason: reason}
	}
	profile := func(field, reason string) overlongField {
		return overlongField{family: "updateProfile", field: field, as: "alice", query: `mutation($in: UpdateProfileInput!) { updateProfile(input: $in) { id } }`,
			vars: map[string]any{"in": map[string]any{}}, reason: reason}
	}
	canned := func(field string) overlongField {
		return overlongField{family: "createCannedReply", field: field, as: "alice", query: `mutation($in: CannedReplyInput!) { createCannedReply(input: $in) { id } }`,
			vars: map[string]any{"in": map[string]any{"type": "quick_reply", "title": "t", "content": "c"}}, reason: "TOO_LONG"}
	}
	fields := []overlongField{
		reg("username", "USERNAME_LENGTH"), reg("password", "PASSWORD_TOO_LONG"), reg("email", "EMAIL_INVALID"),
		reg("phone", "PHONE_INVALID"), reg("nickname", "TOO_LONG"), reg("sign", "TOO_LONG"), reg("location", "TOO_LONG"),
		reg("code", "PHONE_REQUIRED"),
		{family: "login", field: "login", query: `mutation($v: String!) { login(input: {login: $v, password: "password1"}) { accessToken } }`, reason: "TOO_LONG"},
		{family: "login", field: "password", query: `mutation($v: String!) { login(input: {login: "alice", password: $v}) { accessToken } }`, reason: "TOO_LONG"},
		{family: "refreshToken", field: "refreshToken", query: `mutation($v: String!) { refreshToken(refreshToken: $v) { accessToken } }`, code: "UNAUTHENTICATED", reason: "TOKEN_INVALID"},
		profile("username", "USERNAME_LENGTH"), profile("nickname", "TOO_LONG"), profile("avatar", "TOO_LONG"), profile("sign", "TOO_LONG"),
		profile("location", "TOO_LONG"), profile("email", "EMAIL_INVALID"), profile("phone", "PHONE_INVALID"),
		{family: "changePassword", field: "newPassword", as: "alice", query: `mutation($v: String!) { changePassword(input: {oldPassword: "password1", newPassword: $v}) { accessToken } }`, reason: "PASSWORD_TOO_LONG"},
		{family: "changePassword", field: "oldPassword", as: "alice", query: `mutation($v: String!) { changePassword(input: {oldPassword: $v, newPassword: "password2"}) { accessToken } }`, reason: "WRONG_PASSWORD"},
		{family: "deleteAccount", field: "password", as: "carol", query: `mutation($v: String!) { deleteAccount(password: $v) }`, reason: "WRONG_PASSWORD"},
		{family: "sendVerificationCode", field: "phone", query: `mutation($v: String!) { sendVerificationCode(input: {phone: $v, purpose: register}) { expiresAt } }`, reason: "PHONE_INVALID"},
		{family: "resetPassword", field: "phone", query: `mutation($v: String!) { resetPassword(input: {phone: $v, code: "123456", username: "alice", newPassword: "password9"}) }`, reason: "PHONE_INVALID"},
		{family: "resetPassword", field: "code", query: `mutation($v: String!) { resetPassword(input: {phone: "13800000001", code: $v, username: "alice", newPassword: "password9"}) }`, reason: "CODE_INVALID"},
		{family: "resetPassword", field: "username", query: `mutation($v: String!) { resetPassword(input: {phone: "13800000001", code: "123456", username: $v, newPassword: "password9"}) }`, reason: "INVALID"}, // no such account: checked before the code, which it leaves unused,
		{family: "resetPassword", field: "newPassword", query: `mutation($v: String!) { resetPassword(input: {phone: "13800000001", code: "123456", username: "alice", newPassword: $v}) }`, reason: "PASSWORD_TOO_LONG"},
		{family: "createUser", field: "username", as: "alice", query: `mutation($v: String!) { createUser(input: {username: $v, password: "password1"}) { id } }`, code: "FORBIDDEN", reason: "MEMBERS_ONLY"},
		{family: "createUser", field: "nickname", as: "alice", query: `mutation($v: String!) { createUser(input: {username: "subuser", password: "password1", nickname: $v}) { id } }`, code: "FORBIDDEN", reason: "MEMBERS_ONLY"},
		{family: "createUser", field: "sign", as: "alice", query: `mutation($v: String!) { createUser(input: {username: "subuser", password: "password1", sign: $v}) { id } }`, code: "FORBIDDEN", reason: "MEMBERS_ONLY"},
		{family: "createUser", field: "avatar", as: "alice", query: `mutation($v: String!) { createUser(input: {username: "subuser", password: "password1", avatar: $v}) { id } }`, reason: "TOO_LONG"},
		{family: "sendMessage", field: "text", as: "alice", query: `mutation($v: String!) { sendMessage(input: {to: "@BOB_ID@", text: $v}) { id } }`, reason: "TOO_LONG"},
		{family: "sendMessage", field: "clientId", as: "alice", query: `mutation($v: String!) { sendMessage(input: {to: "@BOB_ID@", text: "x", clientId: $v}) { id } }`, reason: "TOO_LONG"},
		{family: "send", field: "text", as: "alice", query: `mutation($v: String!) { send(input: {to: "@BOB_ID@", text: $v}) { id } }`, reason: "TOO_LONG"},
		{family: "send", field: "parts.content", as: "alice", query: `mutation($v: String!) { send(input: {to: "@BOB_ID@", parts: [{category: text, content: $v}]}) { id } }`, reason: "TOO_LONG"},
		{family: "send", field: "parts.url", as: "alice", query: `mutation($v: String!) { send(input: {to: "@BOB_ID@", parts: [{category: link, url: $v}]}) { id } }`, reason: "LINK_INVALID"},
		{family: "send", field: "link label", as: "alice", query: `mutation($v: String!) { send(input: {to: "@BOB_ID@", parts: [{category: link, url: "https://example.com", content: $v}]}) { id } }`, reason: "TOO_LONG"},
		{family: "send", field: "emoji", as: "alice", query: `mutation($v: String!) { send(input: {to: "@BOB_ID@", parts: [{category: emoji, content: $v}]}) { id } }`, reason: "TOO_LONG"},
		{family: "send", field: "clientId", as: "alice", query: `mutation($v: String!) { send(input: {to: "@BOB_ID@", text: "x", clientId: $v}) { id } }`, reason: "TOO_LONG"},
		canned("title"), canned("keyword"), canned("content"),
		{family: "applyFriend", field: "postscript", as: "carol", query: `mutation($v: String!) { applyFriend(input: {userId: "@BOB_ID@", postscript: $v}) { id } }`, reason: "TOO_LONG"},
		{family: "applyFriend", field: "login", as: "carol", query: `mutation($v: String!) { applyFriend(input: {login: $v}) { id } }`, code: "NOT_FOUND"},
		{family: "updateFriend", field: "remark", as: "alice", query: `mutation($v: String!) { updateFriend(userId: "@BOB_ID@", input: {remark: $v}) { id } }`, reason: "TOO_LONG"},
		{family: "createProject", field: "name", as: "alice", query: `mutation($v: String!) { createProject(input: {name: $v}) { id } }`, reason: "TOO_LONG"},
		{family: "renameProject", field: "name", as: "alice", query: `mutation($v: String!) { renameProject(id: "@PROJECT_ID@", name: $v) { id } }`, reason: "TOO_LONG"},
		{family: "addText", field: "name", as: "alice", query: `mutation($v: String!) { addText(input: {projectId: "@PROJECT_ID@", name: $v, content: "c"}) { id } }`, reason: "TOO_LONG"},
		{family: "addText", field: "content", as: "alice", query: `mutation($v: String!) { addText(input: {projectId: "@PROJECT_ID@", name: "n", content: $v}) { id } }`, reason: "TOO_LONG",
			small: &overlongField{noError: true}}, // 5,000 characters is a valid text
		{family: "renameText", field: "name", as: "alice", query: `mutation($v: String!) { renameText(id: "@TEXT_ID@", name: $v) { id } }`, reason: "TOO_LONG"},
		{family: "addEntity", field: "name", as: "alice", query: `mutation($v: String!) { addEntity(input: {projectId: "@PROJECT_ID@", name: $v}) { id } }`, reason: "TOO_LONG"},
		{family: "addEntity", field: "label", as: "alice", query: `mutation($v: String!) { addEntity(input: {projectId: "@PROJECT_ID@", name: "n2", label: $v}) { id } }`, reason: "TOO_LONG"},
		{family: "renameEntity", field: "name", as: "alice", query: `mutation($v: String!) { renameEntity(id: "@ENTITY_ID@", name: $v) { id } }`, reason: "TOO_LONG"},
		{family: "relabelEntity", field: "label", as: "alice", query: `mutation($v: String!) { relabelEntity(id: "@ENTITY_ID@", label: $v) { id } }`, reason: "TOO_LONG"},
		{family: "addRelationType", field: "name", as: "alice", query: `mutation($v: String!) { addRelationType(input: {projectId: "@PROJECT_ID@", name: $v}) { id } }`, reason: "TOO_LONG"},
		{family: "addRelationType", field: "sourceLabels", as: "alice", query: `mutation($v: String!) { addRelationType(input: {projectId: "@PROJECT_ID@", name: "r", sourceLabels: [$v]}) { id } }`, reason: "TOO_LONG"},
		{family: "importGraph", field: "data", as: "alice", query: `mutation($v: String!) { importGraph(projectId: "@PROJECT_ID@", data: $v) { skippedCount } }`, reason: "IMPORT_TOO_LARGE",
			small: &overlongField{reason: "IMPORT_INVALID"}}, // 5,000 x's are under 512 KiB, and not JSON
		// The admin check comes before validation: a member learns nothing
		// of the limits.
		{family: "updateSettings", field: "appName", as: "alice", query: `mutation($v: String!) { updateSettings(input: {appName: $v}) { appName } }`, code: "FORBIDDEN", reason: "NOT_ALLOWED"},
		{family: "updateSettings", field: "dirtyWords", as: "alice", query: `mutation($v: String!) { updateSettings(input: {dirtyWords: [$v]}) { appName } }`, code: "FORBIDDEN", reason: "NOT_ALLOWED"},
		{family: "searchUsers", field: "query", as: "alice", query: `query($v: String!) { searchUsers(query: $v, first: 5) { totalCount } }`, reason: "TOO_LONG"},
		{family: "user", field: "username", query: `query($v: String!) { user(username: $v) { id } }`, noError: true},
		{family: "entities", field: "name", as: "alice", query: `query($v: String!) { entities(projectId: "@PROJECT_ID@", name: $v) { totalCount } }`, reason: "TOO_LONG"},
		{family: "graph", field: "name", as: "alice", query: `query($v: String!) { graph(projectId: "@PROJECT_ID@", name: $v) { truncated } }`, reason: "TOO_LONG"},
	}
	return fields
}

// overlongCases sends every field two overlong values: 5,000 ASCII
// characters, and 300,000 three-byte characters (900 KB, under the body
// limit), which counts as 300,000 characters and 900,000 bytes.
func overlongCases() []hostileCase {
	var out []hostileCase
	for _, fl := range overlongFields() {
		for _, v := range []struct {
			label, value string
			small        bool
		}{
			{"5,000 ASCII", strings.Repeat("x", 5000), true},
			{"300,000 CJK", strings.Repeat("界", 300_000), false},
		} {
			c := hostileCase{Name: fmt.Sprintf("overlong %s.%s (%s)", fl.family, fl.field, v.label), As: fl.as, Status: 200}
			want := fl
			if v.small && fl.small != nil {
				want = *fl.small
			} else if !v.small {
				c.KnownBug, c.KnownBugOn = fl.knownBug, fl.knownBugOn
			}
			vars := map[string]any{}
			for k, val := range fl.vars {
				vars[k] = val
			}
			if in, ok := vars["in"].(map[string]any); ok {
				copied := map[string]any{}
				for k, val := range in {
					copied[k] = val
				}
				copied[fl.field] = v.value
				vars["in"] = copied
			} else {
				vars["v"] = v.value
			}
			rawVars, _ := json.Marshal(vars)
			q := fl.query
			c.Query, c.Variables = &q, rawVars
			switch {
			case want.noError:
			case want.code != "":
				c.Code, c.Reason = want.code, want.reason
			default:
				c.Code, c.Reason = "BAD_USER_INPUT", want.reason
				c.AnyReason = want.reason == ""
			}
			out = append(out, c)
		}
	}
	return out
}

// jwt signs claims with secret and the given header algorithm (HS256
// signatures only; "none" leaves the signature empty).
func jwt(alg string, claims map[string]any, secret []byte) string {
	if alg == "none" {
		return unsignedJWT(map[string]any{"alg": alg, "typ": "JWT"}, claims)
	}
	return hs256Under(map[string]any{"alg": alg, "typ": "JWT"}, claims, secret)
}

// unsignedJWT is header.payload. with an empty signature.
func unsignedJWT(header, claims map[string]any) string {
	enc := base64.RawURLEncoding
	h, _ := json.Marshal(header)
	payload, _ := json.Marshal(claims)
	return enc.EncodeToString(h) + "." + enc.EncodeToString(payload) + "."
}

// hs256Under signs claims with HMAC-SHA256 and secret under any header,
// whatever alg it names (or none).
func hs256Under(header, claims map[string]any, secret []byte) string {
	enc := base64.RawURLEncoding
	h, _ := json.Marshal(header)
	payload, _ := json.Marshal(claims)
	unsigned := enc.EncodeToString(h) + "." + enc.EncodeToString(payload)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(unsigned))
	return unsigned + "." + enc.EncodeToString(mac.Sum(nil))
}

// tokenCases sends forged, expired, alg:none and malformed tokens: each is
// refused with 401 UNAUTHENTICATED and a reason, before GraphQL runs.
func tokenCases(f *hostileFixture) []hostileCase {
	now := time.Now().Unix()
	sid := sessionOf(f.alice.Token)
	uid := subjectOf(f.alice.Token)
	claims := func(extra map[string]any) map[string]any {
		c := map[string]any{"sub": uid, "sid": sid, "typ": "access", "iat": now, "exp": now + 600}
		for k, v := range extra {
			if v == nil {
				delete(c, k)
			} else {
				c[k] = v
			}
		}
		return c
	}
	wrong := []byte("another-secret-another-secret-another!")
	parts := strings.Split(f.alice.Token, ".")
	flipped := parts[0] + "." + parts[1] + "." + flipLast(parts[2])
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString(must(json.Marshal(claims(map[string]any{"sub": "1"})))) + "." + parts[2]

	type tok struct {
		name, token, reason string
	}
	toks := []tok{
		{"garbage", "not.a.token", "TOKEN_INVALID"},
		{"one segment", "abcdef", "TOKEN_INVALID"},
		{"four segments", "a.b.c.d", "TOKEN_INVALID"},
		{"empty segments", "..", "TOKEN_INVALID"},
		{"bad base64", "!!!.@@@.###", "TOKEN_INVALID"},
		{"header not JSON", base64.RawURLEncoding.EncodeToString([]byte("nope")) + ".e30.sig", "TOKEN_INVALID"},
		{"flipped signature", flipped, "TOKEN_INVALID"},
		{"tampered payload", tampered, "TOKEN_INVALID"},
		{"signature stripped", parts[0] + "." + parts[1] + ".", "TOKEN_INVALID"},
		{"alg none", jwt("none", claims(nil), nil), "TOKEN_INVALID"},
		{"alg NONE", jwt("NONE", claims(nil), nil), "TOKEN_INVALID"},
		{"HS512 signature", hs512(claims(nil), f.secret), "TOKEN_INVALID"},
		// The server accepts HS256 only and checks that the header says
		// so: jwx verifies HS256 with the secret whatever the header's alg
		// names, so a header naming another algorithm over a valid HS256
		// signature (made with the secret) is refused by Parley itself.
		{"alg none over an HS256 signature", hs256Under(map[string]any{"alg": "none", "typ": "JWT"}, claims(nil), f.secret), "TOKEN_INVALID"},
		{"alg NONE over an HS256 signature", jwt("NONE", claims(nil), f.secret), "TOKEN_INVALID"},
		{"alg HS512 header over an HS256 signature", jwt("HS512", claims(nil), f.secret), "TOKEN_INVALID"},
		{"alg HS384 header over an HS256 signature", jwt("HS384", claims(nil), f.secret), "TOKEN_INVALID"},
		{"alg RS256 header over an HS256 signature", jwt("RS256", claims(nil), f.secret), "TOKEN_INVALID"},
		{"alg ES256 header over an HS256 signature", jwt("ES256", claims(nil), f.secret), "TOKEN_INVALID"},
		{"alg hs256 (lower case) over an HS256 signature", jwt("hs256", claims(nil), f.secret), "TOKEN_INVALID"},
		{"alg empty over an HS256 signature", jwt("", claims(nil), f.secret), "TOKEN_INVALID"},
		{"no alg over an HS256 signature", hs256Under(map[string]any{"typ": "JWT"}, claims(nil), f.secret), "TOKEN_INVALID"},
		{"alg HS512 unsigned", unsignedJWT(map[string]any{"alg": "HS512", "typ": "JWT"}, claims(nil)), "TOKEN_INVALID"},
		{"alg RS256 unsigned", unsignedJWT(map[string]any{"alg": "RS256", "typ": "JWT"}, claims(nil)), "TOKEN_INVALID"},
		{"alg HS256 unsigned", unsignedJWT(map[string]any{"alg": "HS256", "typ": "JWT"}, claims(nil)), "TOKEN_INVALID"},
		{"issued token, header swapped to none", swapHeader(f.alice.Token, "none", true), "TOKEN_INVALID"},
		{"issued token, header swapped to none, signature stripped", swapHeader(f.alice.Token, "none", false), "TOKEN_INVALID"},
		{"issued token, header swapped to HS512", swapHeader(f.alice.Token, "HS512", true), "TOKEN_INVALID"},
		{"issued token, header swapped to RS256", swapHeader(f.alice.Token, "RS256", true), "TOKEN_INVALID"},
		{"JWS JSON serialization", jwsJSON(jwt("HS256", claims(nil), f.secret)), "TOKEN_INVALID"},
		{"wrong secret", jwt("HS256", claims(nil), wrong), "TOKEN_INVALID"},
		{"empty secret", jwt("HS256", claims(nil), []byte{}), "TOKEN_INVALID"},
		{"expired", jwt("HS256", claims(map[string]any{"iat": now - 7200, "exp": now - 3600}), f.secret), "TOKEN_EXPIRED"},
		{"expired long ago", jwt("HS256", claims(map[string]any{"iat": 0, "exp": 1}), f.secret), "TOKEN_EXPIRED"},
		{"not yet valid", jwt("HS256", claims(map[string]any{"nbf": now + 3600}), f.secret), "TOKEN_INVALID"},
		{"refresh token as access", f.alice.Refresh, "TOKEN_INVALID"},
		{"no typ", jwt("HS256", claims(map[string]any{"typ": nil}), f.secret), "TOKEN_INVALID"},
		{"typ admin", jwt("HS256", claims(map[string]any{"typ": "admin"}), f.secret), "TOKEN_INVALID"},
		{"no sid", jwt("HS256", claims(map[string]any{"sid": nil}), f.secret), "TOKEN_INVALID"},
		{"sid a string", jwt("HS256", claims(map[string]any{"sid": "1"}), f.secret), "TOKEN_INVALID"},
		{"sid huge", jwt("HS256", claims(map[string]any{"sid": 1e300}), f.secret), "SESSION_REVOKED"},
		{"sid negative", jwt("HS256", claims(map[string]any{"sid": -5}), f.secret), "SESSION_REVOKED"},
		{"sid of no session", jwt("HS256", claims(map[string]any{"sid": 77309499999}), f.secret), "SESSION_REVOKED"},
		{"sub not a number", jwt("HS256", claims(map[string]any{"sub": "alice"}), f.secret), "TOKEN_INVALID"},
		{"sub missing", jwt("HS256", claims(map[string]any{"sub": nil}), f.secret), "TOKEN_INVALID"},
		{"sub an object", jwt("HS256", claims(map[string]any{"sub": map[string]any{"id": 1}}), f.secret), "TOKEN_INVALID"},
		{"exp a string", jwt("HS256", claims(map[string]any{"exp": "tomorrow"}), f.secret), "TOKEN_INVALID"},
		{"100 KB token", strings.Repeat("A", 100<<10), "TOKEN_INVALID"},
		{"token with a NUL", "abc\x00def", "TOKEN_INVALID"},
	}
	var out []hostileCase
	q := `{ me { id } }`
	for _, tk := range toks {
		tk := tk
		if strings.ContainsRune(tk.token, 0) {
			continue // net/http refuses to send it; covered by WebSocket cases
		}
		out = append(out, hostileCase{Name: "token " + tk.name, Query: &q, token: tk.token, Status: 401, Code: "UNAUTHENTICATED", Reason: tk.reason})
	}
	header := func(name, value string, status int, code, reason string) hostileCase {
		return hostileCase{Name: "authorization " + name, Query: &q, Header: map[string]string{"Authorization": value}, Status: status, Code: code, Reason: reason}
	}
	out = append(out,
		// The control for the alg cases above: the same claims under an
		// HS256 header pass.
		hostileCase{Name: "token forged with the secret, alg HS256", Query: &q, token: jwt("HS256", claims(nil), f.secret), Status: 200},
		header("bearer without a token", "Bearer", 200, "", ""),
		header("bearer with spaces only", "Bearer    ", 200, "", ""),
		header("basic scheme", "Basic YWxpY2U6cGFzc3dvcmQx", 200, "", ""),
		header("lower-case bearer", "bearer "+f.alice.Token, 200, "", ""),
		header("token with surrounding spaces", "Bearer   "+f.alice.Token+"   ", 200, "", ""),
		header("two tokens", "Bearer "+f.alice.Token+" "+f.bob.Token, 401, "UNAUTHENTICATED", "TOKEN_INVALID"),
		hostileCase{Name: "authorization header of 2 MB", Query: &q, Header: map[string]string{"Authorization": "Bearer " + strings.Repeat("A", 2<<20)}, Status: 431},
	)
	return out
}

// swapHeader replaces an issued token's header by one naming alg, keeping
// the original signature or dropping it.
func swapHeader(token, alg string, keepSignature bool) string {
	parts := strings.Split(token, ".")
	h, _ := json.Marshal(map[string]any{"alg": alg, "typ": "JWT"})
	sig := ""
	if keepSignature {
		sig = parts[2]
	}
	return base64.RawURLEncoding.EncodeToString(h) + "." + parts[1] + "." + sig
}

// jwsJSON rewrites a compact token in the flattened JWS JSON serialization,
// which jwx parses but the server does not accept: tokens are compact.
func jwsJSON(token string) string {
	parts := strings.Split(token, ".")
	raw, _ := json.Marshal(map[string]string{"protected": parts[0], "payload": parts[1], "signature": parts[2]})
	return string(raw)
}

// hs512 signs claims with HMAC-SHA512, which the server does not accept.
func hs512(claims map[string]any, secret []byte) string {
	enc := base64.RawURLEncoding
	header, _ := json.Marshal(map[string]any{"alg": "HS512", "typ": "JWT"})
	payload, _ := json.Marshal(claims)
	unsigned := enc.EncodeToString(header) + "." + enc.EncodeToString(payload)
	mac := hmac.New(sha512.New, secret)
	mac.Write([]byte(unsigned))
	return unsigned + "." + enc.EncodeToString(mac.Sum(nil))
}

// rawExchange writes a raw HTTP/1.1 request and reads the answer.
func rawExchange(f *hostileFixture, request string) (int, []byte, error) {
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(f.s.URL, "http://"), 5*time.Second)
	if err != nil {
		return 0, nil, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, request); err != nil {
		return 0, nil, err
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, body, nil
}

func flipLast(s string) string {
	if s == "" {
		return "A"
	}
	last := s[len(s)-1]
	repl := byte('A')
	if last == 'A' {
		repl = 'B'
	}
	return s[:len(s)-1] + string(repl)
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// claimsOf decodes a token's payload (no verification).
func claimsOf(token string) map[string]any {
	parts := strings.Split(token, ".")
	raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var c map[string]any
	json.Unmarshal(raw, &c)
	return c
}

func sessionOf(token string) any { return claimsOf(token)["sid"] }
func subjectOf(token string) any { return claimsOf(token)["sub"] }

// bodySizeCases: bodies over -max-body-bytes get 413 whatever their shape.
func bodySizeCases(f *hostileFixture) []hostileCase {
	limit := int(f.cfgMaxBody)
	const prefix, suffix = `{"query":"{ me { id } }","variables":{"pad":"`, `"}}`
	pad := func(n int) []byte { return []byte(prefix + strings.Repeat("x", n) + suffix) }
	room := limit - len(prefix) - len(suffix)
	chunked := func(name string, body []byte) hostileCase {
		return hostileCase{Name: name, Status: 413, Code: "BAD_REQUEST", request: func(f *hostileFixture) *http.Request {
			req, _ := http.NewRequest("POST", f.s.URL+"/query", io.MultiReader(bytes.NewReader(body))) // no length: chunked
			req.Header.Set("Content-Type", "application/json")
			return req
		}}
	}
	return []hostileCase{
		{Name: "body one byte over the limit", raw: pad(room + 1), Status: 413, Code: "BAD_REQUEST"},
		{Name: "body at the limit", raw: pad(room), Status: 200},
		{Name: "body of 4 MiB", raw: pad(4 << 20), Status: 413, Code: "BAD_REQUEST"},
		{Name: "query string of 2 MiB", raw: must(json.Marshal(map[string]string{"query": "{ me { id } } #" + strings.Repeat("c", 2<<20)})), Status: 413, Code: "BAD_REQUEST"},
		chunked("chunked body of 3 MiB", pad(3<<20)),
		{Name: "GET with a 2 MiB URL", request: func(f *hostileFixture) *http.Request {
			req, _ := http.NewRequest("GET", f.s.URL+"/query?query="+strings.Repeat("a", 2<<20), nil)
			return req
		}, Status: 431},
	}
}

// uploadCases: the GraphQL multipart request spec, broken in every place.
func uploadCases(f *hostileFixture) []hostileCase {
	const upload = `mutation($file: Upload!, $kind: FileKind!) { uploadFile(file: $file, kind: $kind) { id } }`
	ops := func(kind string) string {
		return string(must(json.Marshal(map[string]any{"query": upload, "variables": map[string]any{"file": nil, "kind": kind}})))
	}
	type part struct{ name, filename, content string }
	mp := func(name string, parts []part, header map[string]string, token string, status int, code, reason string) hostileCase {
		return hostileCase{Name: "upload " + name, Status: status, Code: code, Reason: reason, request: func(f *hostileFixture) *http.Request {
			var body bytes.Buffer
			mw := multipart.NewWriter(&body)
			for _, p := range parts {
				if p.filename != "" {
					h := textproto.MIMEHeader{}
					h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, p.name, p.filename))
					w, _ := mw.CreatePart(h)
					w.Write([]byte(p.content))
					continue
				}
				mw.WriteField(p.name, p.content)
			}
			mw.Close()
			req, _ := http.NewRequest("POST", f.s.URL+"/query", &body)
			req.Header.Set("Content-Type", mw.FormDataContentType())
			req.Header.Set("Apollo-Require-Preflight", "true")
			for k, v := range header {
				if v == "" {
					req.Header.Del(k)
				} else {
					req.Header.Set(k, v)
				}
			}
			if token == "alice" {
				req.Header.Set("Authorization", "Bearer "+f.alice.Token)
			}
			return req
		}}
	}
	good := func(kind string) []part {
		return []part{{"operations", "", ops(kind)}, {"map", "", `{"0": ["variables.file"]}`}, {"0", "a.bin", "hello"}}
	}
	bigFile := strings.Repeat("z", int(f.maxFile)+1)
	out := []hostileCase{
		mp("without the preflight header", good("file"), map[string]string{"Apollo-Require-Preflight": ""}, "alice", 400, "BAD_USER_INPUT", "CSRF_PREFLIGHT_REQUIRED"),
		mp("with a blank preflight header", good("file"), map[string]string{"Apollo-Require-Preflight": " "}, "alice", 400, "BAD_USER_INPUT", "CSRF_PREFLIGHT_REQUIRED"),
		mp("anonymous", good("file"), nil, "", 200, "UNAUTHENTICATED", "SIGN_IN_REQUIRED"),
		mp("operations not JSON", []part{{"operations", "", "{nope"}, {"map", "", `{"0": ["variables.file"]}`}, {"0", "a.bin", "x"}}, nil, "alice", 400, "", ""),
		mp("operations missing", []part{{"map", "", `{"0": ["variables.file"]}`}, {"0", "a.bin", "x"}}, nil, "alice", 400, "", ""),
		mp("map missing", []part{{"operations", "", ops("file")}, {"0", "a.bin", "x"}}, nil, "alice", 400, "", ""),
		mp("map not JSON", []part{{"operations", "", ops("file")}, {"map", "", "{{"}, {"0", "a.bin", "x"}}, nil, "alice", 400, "", ""),
		mp("map an array", []part{{"operations", "", ops("file")}, {"map", "", `["variables.file"]`}, {"0", "a.bin", "x"}}, nil, "alice", 400, "", ""),
		mp("map to a missing file", []part{{"operations", "", ops("file")}, {"map", "", `{"1": ["variables.file"]}`}, {"0", "a.bin", "x"}}, nil, "alice", 400, "", ""),
		mp("map to a bad path", []part{{"operations", "", ops("file")}, {"map", "", `{"0": ["variables.nope.deeper"]}`}, {"0", "a.bin", "x"}}, nil, "alice", 400, "", ""),
		mp("map to a non-variable path", []part{{"operations", "", ops("file")}, {"map", "", `{"0": ["query"]}`}, {"0", "a.bin", "x"}}, nil, "alice", 400, "", ""),
		mp("no file part", []part{{"operations", "", ops("file")}, {"map", "", `{"0": ["variables.file"]}`}}, nil, "alice", 400, "", ""),
		mp("file before operations", []part{{"0", "a.bin", "x"}, {"operations", "", ops("file")}, {"map", "", `{"0": ["variables.file"]}`}}, nil, "alice", 400, "", ""),
		mp("file over the kind's limit", []part{{"operations", "", ops("file")}, {"map", "", `{"0": ["variables.file"]}`}, {"0", "big.bin", bigFile}}, nil, "alice", 200, "BAD_USER_INPUT", "FILE_TOO_LARGE"),
		mp("image that is not an image", []part{{"operations", "", ops("image")}, {"map", "", `{"0": ["variables.file"]}`}, {"0", "a.png", "plain text"}}, nil, "alice", 200, "BAD_USER_INPUT", "FILE_INVALID"),
		mp("unknown kind", good("virus"), nil, "alice", 400, "GRAPHQL_VALIDATION_FAILED", ""),
		mp("hostile file name", []part{{"operations", "", ops("file")}, {"map", "", `{"0": ["variables.file"]}`}, {"0", "../../etc/\u202epasswd\x00.txt", "x"}}, nil, "alice", 200, "", ""),
		mp("empty file", []part{{"operations", "", ops("file")}, {"map", "", `{"0": ["variables.file"]}`}, {"0", "empty.bin", ""}}, nil, "alice", 200, "BAD_USER_INPUT", ""),
		mp("file into a String argument", []part{{"operations", "", string(must(json.Marshal(map[string]any{"query": `query($v: String!) { user(username: $v) { id } }`, "variables": map[string]any{"v": nil}})))}, {"map", "", `{"0": ["variables.v"]}`}, {"0", "a.bin", "x"}}, nil, "alice", 400, "GRAPHQL_VALIDATION_FAILED", ""),
		{Name: "upload declared larger than every limit", Status: 413, Code: "BAD_USER_INPUT", Reason: "FILE_TOO_LARGE", exchange: func(f *hostileFixture) (int, []byte, error) {
			return rawExchange(f, "POST /query HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=x\r\n"+
				"Apollo-Require-Preflight: true\r\nContent-Length: 1099511627776\r\nConnection: close\r\n\r\n--x\r\n")
		}},
		{Name: "upload chunked past the limit", Status: 413, Code: "BAD_USER_INPUT", Reason: "FILE_TOO_LARGE", request: func(f *hostileFixture) *http.Request {
			var body bytes.Buffer
			mw := multipart.NewWriter(&body)
			mw.WriteField("operations", ops("file"))
			mw.WriteField("map", `{"0": ["variables.file"]}`)
			w, _ := mw.CreateFormFile("0", "huge.bin")
			w.Write(make([]byte, f.maxFile+2*f.cfgMaxBody+(64<<10)))
			mw.Close()
			req, _ := http.NewRequest("POST", f.s.URL+"/query", io.MultiReader(&body)) // no length: chunked
			req.Header.Set("Content-Type", mw.FormDataContentType())
			req.Header.Set("Apollo-Require-Preflight", "true")
			req.Header.Set("Authorization", "Bearer "+f.alice.Token)
			return req
		}},
		{Name: "upload multipart without a boundary", Status: 400, request: func(f *hostileFixture) *http.Request {
			req, _ := http.NewRequest("POST", f.s.URL+"/query", strings.NewReader("--x\r\n\r\n"))
			req.Header.Set("Content-Type", "multipart/form-data")
			req.Header.Set("Apollo-Require-Preflight", "true")
			return req
		}},
		{Name: "upload truncated multipart", Status: 400, request: func(f *hostileFixture) *http.Request {
			body := "--xyz\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n" + ops("file")
			req, _ := http.NewRequest("POST", f.s.URL+"/query", strings.NewReader(body))
			req.Header.Set("Content-Type", "multipart/form-data; boundary=xyz")
			req.Header.Set("Apollo-Require-Preflight", "true")
			req.Header.Set("Authorization", "Bearer "+f.alice.Token)
			return req
		}},
	}
	return out
}

// idCases: every ID argument of a few families refuses malformed ids with
// INVALID_ID.
func idCases() []hostileCase {
	ops := []struct{ name, query string }{
		{"node", `query($v: ID!) { node(id: $v) { id } }`},
		{"user", `query($v: ID!) { user(id: $v) { id } }`},
		{"messages", `query($v: ID!) { messages(conversationId: $v, first: 1) { totalCount } }`},
		{"directConversation", `query($v: ID!) { directConversation(userId: $v) { id } }`},
		{"sendMessage.to", `mutation($v: ID!) { sendMessage(input: {to: $v, text: "x"}) { id } }`},
		{"send.quoteId", `mutation($v: ID!) { send(input: {to: "90194313217", text: "x", quoteId: $v}) { id } }`},
		{"deleteMessage", `mutation($v: ID!) { deleteMessage(id: $v) }`},
		{"acceptFriendApplication", `mutation($v: ID!) { acceptFriendApplication(id: $v) { id } }`},
		{"markNoticesRead", `mutation($v: ID!) { markNoticesRead(ids: [$v]) }`},
		{"texts", `query($v: ID!) { texts(projectId: $v, first: 1) { totalCount } }`},
		{"addRelation", `mutation($v: ID!) { addRelation(input: {typeId: $v, sourceId: $v, targetId: $v}) { id } }`},
	}
	var out []hostileCase
	for _, op := range ops {
		for _, v := range []any{"abc", "0", "-1", "1.5", "", "1e9", "99999999999999999999", 0, -7, 2.5, 1e300} {
			raw, _ := json.Marshal(map[string]any{"v": v})
			q := op.query
			out = append(out, hostileCase{Name: fmt.Sprintf("id %s %#v", op.name, v), As: "alice", Query: &q, Variables: raw, Status: 200, Code: "BAD_USER_INPUT", Reason: "INVALID_ID"})
		}
	}
	return out
}

// wsCase is one WebSocket conversation: what the client sends and how the
// server must end it.
type wsCase struct {
	name     string
	protocol string                         // graphql-transport-ws unless set
	token    func(f *hostileFixture) string // "" for anonymous; nil: no connection_init at all
	init     bool                           // send connection_init (with the token) and expect the ack
	send     []string                       // raw messages after init
	binary   bool                           // send them as binary frames
	close    int                            // expected close code; 0: the connection stays open
	// errorCode, when set, is the code of the error the server answers a
	// subscribe with (the connection stays open).
	errorCode   string
	errorReason string
	origin      string // an Origin header
	status      int    // expected HTTP status of a refused handshake
	wait        time.Duration
}

func aliceToken(f *hostileFixture) string { return f.alice.Token }

func websocketHostileCases() []wsCase {
	sub := func(id, query string) string {
		return string(must(json.Marshal(map[string]any{"id": id, "type": "subscribe", "payload": map[string]any{"query": query}})))
	}
	const events = `subscription { events { kind } }`
	return []wsCase{
		{name: "bad JSON before init", send: []string{"{nope"}, close: 4400},
		{name: "binary garbage before init", send: []string{"\x00\x01\x02"}, binary: true, close: 4400},
		{name: "JSON array", send: []string{"[]"}, close: 4400},
		{name: "JSON string", send: []string{`"connection_init"`}, close: 4400},
		{name: "JSON null", send: []string{"null"}, close: 4400},
		{name: "no type", send: []string{`{"payload": {}}`}, close: 4400},
		{name: "type not a string", send: []string{`{"type": 5}`}, close: 4400},
		{name: "unknown type", send: []string{`{"type": "hello"}`}, close: 4400},
		{name: "subscribe before init", send: []string{sub("1", events)}, close: 4401},
		{name: "connection_init payload a string", send: []string{`{"type": "connection_init", "payload": "token"}`}, close: 4400},
		{name: "connection_init payload an array", send: []string{`{"type": "connection_init", "payload": [1]}`}, close: 4400},
		{name: "ping before init gets a pong", send: []string{`{"type": "ping"}`, `{"type": "connection_init"}`}, close: 0},
		{name: "init timeout", wait: 2 * time.Second, close: 4408},
		{name: "bad token at init", token: func(*hostileFixture) string { return "not.a.token" }, init: true, close: 4403},
		{name: "expired token at init", token: func(f *hostileFixture) string {
			return jwt("HS256", map[string]any{"sub": subjectOf(f.alice.Token), "sid": sessionOf(f.alice.Token), "typ": "access", "exp": 1}, f.secret)
		}, init: true, close: 4403},
		{name: "alg none at init", token: func(f *hostileFixture) string {
			return jwt("none", map[string]any{"sub": subjectOf(f.alice.Token), "sid": sessionOf(f.alice.Token), "typ": "access", "exp": time.Now().Unix() + 600}, nil)
		}, init: true, close: 4403},
		{name: "alg HS512 header over an HS256 signature at init", token: func(f *hostileFixture) string {
			return jwt("HS512", map[string]any{"sub": subjectOf(f.alice.Token), "sid": sessionOf(f.alice.Token), "typ": "access", "exp": time.Now().Unix() + 600}, f.secret)
		}, init: true, close: 4403},
		{name: "alg none over an HS256 signature at init", token: func(f *hostileFixture) string {
			return hs256Under(map[string]any{"alg": "none"}, map[string]any{"sub": subjectOf(f.alice.Token), "sid": sessionOf(f.alice.Token), "typ": "access", "exp": time.Now().Unix() + 600}, f.secret)
		}, init: true, close: 4403},
		{name: "second connection_init", token: aliceToken, init: true, send: []string{`{"type": "connection_init"}`}, close: 4429},
		{name: "duplicate subscription id", token: aliceToken, init: true, send: []string{sub("dup", events), sub("dup", events)}, close: 4409},
		{name: "subscribe without an id", token: aliceToken, init: true, send: []string{`{"type": "subscribe", "payload": {"query": "subscription { events { kind } }"}}`}, close: 4400},
		{name: "subscribe with an empty id", token: aliceToken, init: true, send: []string{sub("", events)}, close: 4400},
		{name: "subscribe with a numeric id", token: aliceToken, init: true, send: []string{`{"id": 5, "type": "subscribe", "payload": {"query": "subscription { events { kind } }"}}`}, close: 4400},
		{name: "subscribe without a payload", token: aliceToken, init: true, send: []string{`{"id": "1", "type": "subscribe"}`}, close: 4400},
		{name: "subscribe without a query", token: aliceToken, init: true, send: []string{`{"id": "1", "type": "subscribe", "payload": {}}`}, close: 4400},
		{name: "subscribe with a numeric query", token: aliceToken, init: true, send: []string{`{"id": "1", "type": "subscribe", "payload": {"query": 5}}`}, close: 4400},
		{name: "subscribe with variables a string", token: aliceToken, init: true, send: []string{`{"id": "1", "type": "subscribe", "payload": {"query": "subscription { events { kind } }", "variables": "x"}}`}, close: 4400},
		{name: "complete without an id", token: aliceToken, init: true, send: []string{`{"type": "complete"}`}, close: 4400},
		{name: "client sends next", token: aliceToken, init: true, send: []string{`{"id": "1", "type": "next", "payload": {}}`}, close: 4400},
		{name: "client sends connection_ack", token: aliceToken, init: true, send: []string{`{"type": "connection_ack"}`}, close: 4400},
		{name: "client sends error", token: aliceToken, init: true, send: []string{`{"id": "1", "type": "error", "payload": []}`}, close: 4400},
		{name: "bad JSON after init", token: aliceToken, init: true, send: []string{"{{{"}, close: 4400},
		{name: "complete of an unknown id", token: aliceToken, init: true, send: []string{`{"id": "zzz", "type": "complete"}`}, close: 0},
		{name: "resubscribe after complete", token: aliceToken, init: true, send: []string{sub("r", events), `{"id": "r", "type": "complete"}`, sub("r2", events)}, close: 0},
		{name: "subscribe with a parse error", token: aliceToken, init: true, send: []string{sub("1", "subscription {")}, errorCode: "GRAPHQL_PARSE_FAILED"},
		{name: "subscribe with a validation error", token: aliceToken, init: true, send: []string{sub("1", "subscription { nope }")}, errorCode: "GRAPHQL_VALIDATION_FAILED"},
		{name: "subscribe to a bad stream cursor", token: aliceToken, init: true, send: []string{sub("1", `subscription { events(after: "garbage") { kind } }`)}, errorCode: "BAD_USER_INPUT", errorReason: "INVALID"},
		{name: "subscribe to a negative stream cursor", token: aliceToken, init: true, send: []string{sub("1", `subscription { events(after: "-5") { kind } }`)}, errorCode: "BAD_USER_INPUT", errorReason: "INVALID"},
		{name: "subscribe to a stream cursor past int64", token: aliceToken, init: true, send: []string{sub("1", `subscription { events(after: "99999999999999999999") { kind } }`)}, errorCode: "BAD_USER_INPUT", errorReason: "INVALID"},
		{name: "anonymous subscribe", token: func(*hostileFixture) string { return "" }, init: true, send: []string{sub("1", events)}, errorCode: "UNAUTHENTICATED"},
		{name: "subscription too deep", token: aliceToken, init: true, send: []string{sub("1", `subscription { events { node { ... on Message { conversation { messages { edges { node { conversation { messages { edges { node { conversation { messages { edges { node { id } } } } } } } } } } } } } } } }`)}, errorCode: "QUERY_TOO_COMPLEX", errorReason: "DEPTH_LIMIT"},
		{name: "too many subscriptions", token: aliceToken, init: true, send: []string{sub("1", events), sub("2", events), sub("3", events), sub("4", events), sub("5", events)}, errorCode: "RATE_LIMITED", errorReason: "TOO_MANY_SUBSCRIPTIONS"},
		{name: "message over the read limit", token: aliceToken, init: true, send: []string{`{"type": "ping", "payload": {"pad": "` + strings.Repeat("x", 2<<20) + `"}}`}, close: 1009},
		{name: "forbidden origin", origin: "https://evil.example", status: 403},
		{name: "no GraphQL subprotocol offered", protocol: "chat", status: 400},
		{name: "legacy protocol: connection_init payload a string", protocol: "graphql-ws", send: []string{`{"type": "connection_init", "payload": "x"}`}, close: 1002},
		{name: "legacy protocol: bad JSON", protocol: "graphql-ws", send: []string{"{{"}, close: 1002},
		{name: "legacy protocol: bad token", protocol: "graphql-ws", token: func(*hostileFixture) string { return "not.a.token" }, init: true, close: 4403},
	}
}

// runWS plays one WebSocket case and returns what went wrong.
func (f *hostileFixture) runWS(t *testing.T, c wsCase) []string {
	name := "websocket " + c.name
	protocol := c.protocol
	if protocol == "" {
		protocol = "graphql-transport-ws"
	}
	header := http.Header{}
	if c.origin != "" {
		header.Set("Origin", c.origin)
	}
	u := "ws" + strings.TrimPrefix(f.s.URL, "http") + "/query"
	conn, res, err := (&websocket.Dialer{Subprotocols: []string{protocol}, HandshakeTimeout: 5 * time.Second}).Dial(u, header)
	if c.status != 0 {
		if err == nil {
			conn.Close()
			return []string{name + ": handshake accepted"}
		}
		if res == nil || res.StatusCode != c.status {
			return []string{fmt.Sprintf("%s: handshake %v, want status %d", name, res, c.status)}
		}
		res.Body.Close()
		record(name, fmt.Sprintf("status=%d", res.StatusCode))
		return nil
	}
	if err != nil {
		return []string{fmt.Sprintf("%s: dial: %v", name, err)}
	}
	defer conn.Close()
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, name+": "+fmt.Sprintf(format, args...)) }

	read := func(d time.Duration) (map[string]any, error) {
		conn.SetReadDeadline(time.Now().Add(d))
		_, raw, err := conn.ReadMessage()
		if err != nil {
			return nil, err
		}
		var m map[string]any
		json.Unmarshal(raw, &m)
		return m, nil
	}
	// pingPong sends a ping and reads up to its pong: the connection is
	// still usable.
	pingPong := func() error {
		conn.WriteJSON(map[string]any{"type": "ping"})
		for {
			m, err := read(5 * time.Second)
			if err != nil {
				return err
			}
			if m["type"] == "pong" {
				return nil
			}
		}
	}
	if c.init {
		payload := map[string]any{}
		if tok := c.token(f); tok != "" {
			payload["Authorization"] = "Bearer " + tok
		}
		conn.WriteJSON(map[string]any{"type": "connection_init", "payload": payload})
	}
	for c.init && c.close != 4403 { // wait for the ack
		m, err := read(5 * time.Second)
		if err != nil {
			bad("no connection_ack: %v", err)
			return problems
		}
		if m["type"] == "connection_ack" {
			break
		}
	}
	for _, msg := range c.send {
		typ := websocket.TextMessage
		if c.binary {
			typ = websocket.BinaryMessage
		}
		if err := conn.WriteMessage(typ, []byte(msg)); err != nil {
			break // the server may close before a later message
		}
	}
	switch {
	case c.errorCode != "":
		for {
			m, err := read(5 * time.Second)
			if err != nil {
				bad("no error message: %v", err)
				return problems
			}
			if m["type"] != "error" && m["type"] != "next" {
				continue
			}
			list, _ := m["payload"].([]any)
			if p, ok := m["payload"].(map[string]any); ok {
				list, _ = p["errors"].([]any)
			}
			if len(list) == 0 {
				if c.errorCode == "RATE_LIMITED" {
					continue // the subscriptions under the cap may send data
				}
				bad("no errors in %v", m)
				return problems
			}
			first, _ := list[0].(map[string]any)
			ext, _ := first["extensions"].(map[string]any)
			record(name, fmt.Sprintf("error code=%v reason=%v", ext["code"], ext["reason"]))
			if ext["code"] != c.errorCode {
				bad("error code %v, want %s (%v)", ext["code"], c.errorCode, first["message"])
			}
			if c.errorReason != "" && ext["reason"] != c.errorReason {
				bad("error reason %v, want %s", ext["reason"], c.errorReason)
			}
			if m, ok := first["message"].(string); ok && leaks.MatchString(m) {
				bad("leaks %q", m)
			}
			break
		}
		// The connection stays usable.
		if protocol == "graphql-transport-ws" {
			if err := pingPong(); err != nil {
				bad("connection closed after a request error: %v", err)
			}
		} else {
			conn.WriteJSON(map[string]any{"type": "ping"})
		}
	case c.close == 0:
		// The connection stays open: a ping gets its pong.
		if err := pingPong(); err != nil {
			bad("closed, want open: %v", err)
		} else {
			record(name, "open")
		}
	default:
		deadline := 5*time.Second + c.wait
		for {
			_, err := read(deadline)
			if err == nil {
				continue
			}
			var ce *websocket.CloseError
			if !errorsAs(err, &ce) {
				bad("ended without a close frame: %v, want %d", err, c.close)
				break
			}
			record(name, fmt.Sprintf("close=%d %q", ce.Code, ce.Text))
			if ce.Code != c.close {
				bad("close code %d (%q), want %d", ce.Code, ce.Text, c.close)
			}
			break
		}
	}
	return problems
}

func record(name, what string) {
	if os.Getenv("HOSTILE_RECORD") != "" {
		fmt.Printf("RECORD %-70q %s\n", name, what)
	}
}

func errorsAs(err error, ce **websocket.CloseError) bool { return errors.As(err, ce) }
