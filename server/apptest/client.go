package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// Error is one error of a GraphQL response.
type Error struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path,omitempty"`
	Extensions map[string]any `json:"extensions"`
}

// Error gives the message and, when there is one, the reason, which is what
// tells Parley's errors apart.
func (e Error) Error() string {
	if r, _ := e.Extensions["reason"].(string); r != "" {
		return fmt.Sprintf("%s (%s)", e.Message, r)
	}
	return e.Message
}

// Response is a GraphQL response with its HTTP status.
type Response struct {
	Status int             `json:"-"`
	Data   json.RawMessage `json:"data"`
	Errors []Error         `json:"errors"`
}

// Code is the code of the first error ("" when there is none).
func (r Response) Code() string { return r.Ext("code") }

// Reason is the reason of the first error ("" when there is none).
func (r Response) Reason() string { return r.Ext("reason") }

// Ext is the string extension k of the first error.
func (r Response) Ext(k string) string {
	if len(r.Errors) == 0 {
		return ""
	}
	s, _ := r.Errors[0].Extensions[k].(string)
	return s
}

// Reasons counts the reasons of all the errors.
func (r Response) Reasons() map[string]int {
	out := map[string]int{}
	for _, e := range r.Errors {
		reason, _ := e.Extensions["reason"].(string)
		out[reason]++
	}
	return out
}

// Client sends GraphQL requests over HTTP to one server. It reports
// failures as errors instead of failing a test, so that it serves other
// goroutines than the test's, processes started apart (test/faults) and
// the load tool.
type Client struct {
	URL    string       // the server's base URL, http://host:port
	Path   string       // the endpoint; "" is /query
	HTTP   *http.Client // nil is http.DefaultClient
	Header http.Header  // sent with every request, besides the bearer token
}

// NewClient returns a client of the server at url.
func NewClient(url string, client *http.Client) *Client { return &Client{URL: url, HTTP: client} }

// Request builds the POST of one operation, with a bearer token unless it
// is empty.
func (c *Client) Request(ctx context.Context, token, query string, vars map[string]any) (*http.Request, error) {
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return nil, err
	}
	path := c.Path
	if path == "" {
		path = "/query"
	}
	req, err := http.NewRequestWithContext(ctx, "POST", c.URL+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range c.Header {
		req.Header[k] = v
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req, nil
}

// Exchange sends req and returns the response's status and body.
func (c *Client) Exchange(req *http.Request) (*http.Response, []byte, error) {
	client := c.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	res, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	return res, raw, err
}

// Decode sends req and decodes its GraphQL response. A body that is not
// JSON is an error that quotes it.
func (c *Client) Decode(req *http.Request) (Response, error) {
	res, raw, err := c.Exchange(req)
	if err != nil {
		return Response{}, err
	}
	var r Response
	if err := json.Unmarshal(raw, &r); err != nil {
		return Response{Status: res.StatusCode}, fmt.Errorf("HTTP %d: %w: %.200s", res.StatusCode, err, raw)
	}
	r.Status = res.StatusCode
	return r, nil
}

// Post sends one operation and returns the response, errors included.
func (c *Client) Post(ctx context.Context, token, query string, vars map[string]any) (Response, error) {
	req, err := c.Request(ctx, token, query, vars)
	if err != nil {
		return Response{}, err
	}
	return c.Decode(req)
}

// Query sends one operation that must succeed and decodes its data into
// out (unless out is nil). The first GraphQL error is the error, and so is
// a status other than 200.
func (c *Client) Query(ctx context.Context, token, query string, vars map[string]any, out any) error {
	r, err := c.Post(ctx, token, query, vars)
	if err != nil {
		return err
	}
	if len(r.Errors) > 0 {
		return r.Errors[0]
	}
	if r.Status != http.StatusOK {
		return fmt.Errorf("HTTP %d: %.200s", r.Status, r.Data)
	}
	if out != nil {
		return json.Unmarshal(r.Data, out)
	}
	return nil
}

// Account is a signed-in user: the id the API gives, the name it was
// registered with, and the tokens of its session.
type Account struct {
	ID, Name, Token, Refresh string
}

// Password is the password Register gives the accounts of tests.
const Password = "password1"

// RegisterMutation registers one account; its input is $in.
const RegisterMutation = `mutation($in: RegisterInput!) { register(input: $in) { accessToken refreshToken user { id username } } }`

// Register creates an account named name with password and the other
// fields of RegisterInput in extra.
func (c *Client) Register(ctx context.Context, name, password string, extra map[string]any) (Account, error) {
	in := map[string]any{"username": name, "password": password}
	for k, v := range extra {
		in[k] = v
	}
	var out struct {
		Register struct {
			AccessToken, RefreshToken string
			User                      struct{ ID string }
		}
	}
	err := c.Query(ctx, "", RegisterMutation, map[string]any{"in": in}, &out)
	return Account{ID: out.Register.User.ID, Name: name, Token: out.Register.AccessToken, Refresh: out.Register.RefreshToken}, err
}

// LoginMutation signs in with $in, a LoginInput (LoginVars).
const LoginMutation = `mutation($in: LoginInput!) { login(input: $in) { accessToken refreshToken user { id username } } }`

// LoginVars are the variables of LoginMutation: login is a username, phone
// or email.
func LoginVars(login, password string) map[string]any {
	return map[string]any{"in": map[string]any{"login": login, "password": password}}
}

// Login signs login in with password: a new session of the account.
func (c *Client) Login(ctx context.Context, login, password string) (Account, error) {
	var out struct {
		Login struct {
			AccessToken, RefreshToken string
			User                      struct{ ID string }
		}
	}
	err := c.Query(ctx, "", LoginMutation, LoginVars(login, password), &out)
	return Account{ID: out.Login.User.ID, Name: login, Token: out.Login.AccessToken, Refresh: out.Login.RefreshToken}, err
}

// SendMessageMutation sends $text to the user $to, with the idempotency key
// $cid when it is set.
const SendMessageMutation = `mutation($to: ID!, $text: String!, $cid: String) { sendMessage(input: {to: $to, text: $text, clientId: $cid}) { id seq text conversation { id } } }`

// Message is a message as the kit's operations select it.
type Message struct {
	ID   string
	Seq  int
	Text string
}

// SendMessage sends text from from to the user to, with clientID as the
// idempotency key unless it is empty.
func (c *Client) SendMessage(ctx context.Context, from Account, to, text, clientID string) (Message, error) {
	vars := map[string]any{"to": to, "text": text}
	if clientID != "" {
		vars["cid"] = clientID
	}
	return c.Sent(ctx, from, SendMessageMutation, vars)
}

// Sent runs mutation, whose one field is the message sent, as from, and
// returns that message.
func (c *Client) Sent(ctx context.Context, from Account, mutation string, vars map[string]any) (Message, error) {
	var out map[string]Message
	err := c.Query(ctx, from.Token, mutation, vars, &out)
	for _, m := range out {
		return m, err
	}
	return Message{}, err
}

// Connection is one page of a Relay connection.
type Connection[T any] struct {
	TotalCount int
	Edges      []struct{ Node T }
	PageInfo   struct {
		HasNextPage, HasPreviousPage bool
		StartCursor, EndCursor       *string
	}
}

// Nodes returns the page's nodes in order, never nil.
func (c Connection[T]) Nodes() []T {
	out := make([]T, 0, len(c.Edges))
	for _, e := range c.Edges {
		out = append(out, e.Node)
	}
	return out
}

// Map returns f of each element of xs, in order, never nil.
func Map[T, U any](xs []T, f func(T) U) []U {
	out := make([]U, 0, len(xs))
	for _, x := range xs {
		out = append(out, f(x))
	}
	return out
}

// Vars builds the variables of an operation from name, value pairs.
func Vars(kv ...any) map[string]any {
	vars := make(map[string]any, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		vars[kv[i].(string)] = kv[i+1]
	}
	return vars
}
