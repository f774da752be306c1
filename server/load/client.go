package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-im/parley/server/apptest"
)

// api talks GraphQL over HTTP to one server, with the kit's client.
type api struct{ *apptest.Client }

func newAPI(base string, conns int) *api {
	tr := &http.Transport{
		Proxy:               nil,
		MaxIdleConns:        conns * 2,
		MaxIdleConnsPerHost: conns * 2,
		IdleConnTimeout:     90 * time.Second,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
	}
	return &api{&apptest.Client{
		URL:    strings.TrimRight(base, "/"),
		HTTP:   &http.Client{Transport: tr, Timeout: 30 * time.Second},
		Header: http.Header{"Accept": {"application/json"}},
	}}
}

// user is an account the tool created.
type user = apptest.Account

// password is the password of every account the tool registers.
const password = "load-password-1"

func (a *api) register(ctx context.Context, name string) (user, error) {
	return a.Register(ctx, name, password, nil)
}

// registerPair registers prefix_alice and prefix_bob.
func (a *api) registerPair(ctx context.Context, prefix string) (alice, bob user, err error) {
	if alice, err = a.register(ctx, prefix+"_alice"); err != nil {
		return alice, bob, err
	}
	bob, err = a.register(ctx, prefix+"_bob")
	return alice, bob, err
}

// registerMany registers n users named prefix_i with some parallelism; the
// order of the result is the order of i.
func (a *api) registerMany(ctx context.Context, prefix string, n, parallel int) ([]user, error) {
	users := make([]user, n)
	errc := make(chan error, 1)
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < parallel; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				u, err := a.register(ctx, fmt.Sprintf("%s_%d", prefix, i))
				for try := 0; try < 3 && err != nil && strings.Contains(err.Error(), "try again"); try++ {
					// A conflict the server asks to retry (USERNAME_TAKEN
					// under a concurrent registration): nothing was written.
					time.Sleep(50 * time.Millisecond)
					u, err = a.register(ctx, fmt.Sprintf("%s_%d", prefix, i))
				}
				if err != nil {
					select {
					case errc <- fmt.Errorf("register %s_%d: %w", prefix, i, err):
					default:
					}
					continue
				}
				users[i] = u
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errc:
		return nil, err
	default:
	}
	return users, nil
}

const sendMessageMutation = `mutation($to: ID!, $text: String!, $cid: String) { sendMessage(input: {to: $to, text: $text, clientId: $cid}) { id seq } }`

// sentMessage is a message the tool sent: its id and seq (its mutations
// select no more).
type sentMessage = apptest.Message

func (a *api) sendMessage(ctx context.Context, from user, to, text, clientID string) (sentMessage, error) {
	vars := map[string]any{"to": to, "text": text}
	if clientID != "" {
		vars["cid"] = clientID
	}
	return a.Sent(ctx, from, sendMessageMutation, vars)
}

const sendGroupMutation = `mutation($g: ID!, $text: String!) { send(input: {groupId: $g, text: $text}) { id seq } }`

func (a *api) sendGroup(ctx context.Context, from user, groupID, text string) (sentMessage, error) {
	return a.Sent(ctx, from, sendGroupMutation, map[string]any{"g": groupID, "text": text})
}

// hasField reports whether the root type (Query, Mutation) has a field,
// through introspection, to find out which API a server offers.
func (a *api) hasField(ctx context.Context, root, field string) bool {
	var out struct {
		Type *struct{ Fields []struct{ Name string } } `json:"__type"`
	}
	if err := a.Query(ctx, "", `query($n: String!) { __type(name: $n) { fields { name } } }`, map[string]any{"n": root}, &out); err != nil || out.Type == nil {
		return false
	}
	for _, f := range out.Type.Fields {
		if f.Name == field {
			return true
		}
	}
	return false
}

// eventsSubscription is what every subscriber of the tool listens to.
const eventsSubscription = `subscription { events { cursor kind node { id ... on Message { seq text } } } }`

// event is one delivered event.
type event struct {
	Cursor string
	Kind   string
	Node   *struct {
		ID   string
		Seq  int
		Text string
	}
}

// subscriber is one graphql-transport-ws connection with the events
// subscription. Its reader answers pings and hands events to onEvent (called
// on the reader goroutine, so it must be quick).
type subscriber struct {
	conn    *websocket.Conn
	writeMu sync.Mutex
	done    chan struct{}
	err     error
}

// wsDialer dials from a given local address when set (several 127.0.0.x
// sources multiply the ephemeral ports available for one server port).
func wsDialer(local net.Addr) *websocket.Dialer {
	nd := &net.Dialer{Timeout: 10 * time.Second, LocalAddr: local}
	return &websocket.Dialer{
		Subprotocols:     []string{"graphql-transport-ws"},
		NetDialContext:   nd.DialContext,
		HandshakeTimeout: 10 * time.Second,
		ReadBufferSize:   1024,
		WriteBufferSize:  1024,
	}
}

// subscribe opens a connection as token, subscribes to events and returns
// once the server has acknowledged the connection. The server registers the
// subscription shortly after; callers that need it live wait (waitLive).
func subscribe(ctx context.Context, d *websocket.Dialer, base, token, query string, onEvent func(event)) (*subscriber, error) {
	conn, err := apptest.DialWS(ctx, d, base, apptest.Bearer(token))
	if err != nil {
		return nil, fmt.Errorf("connection_init: %w", err)
	}
	s := &subscriber{conn: conn, done: make(chan struct{})}
	if err := conn.WriteJSON(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": query}}); err != nil {
		conn.Close()
		return nil, err
	}
	go s.read(onEvent)
	return s, nil
}

func (s *subscriber) read(onEvent func(event)) {
	defer close(s.done)
	for {
		_, raw, err := s.conn.ReadMessage()
		if err != nil {
			s.err = err
			return
		}
		var m struct {
			Type    string
			Payload json.RawMessage
		}
		if json.Unmarshal(raw, &m) != nil {
			continue
		}
		switch m.Type {
		case "ping":
			s.writeMu.Lock()
			s.conn.WriteJSON(map[string]any{"type": "pong"})
			s.writeMu.Unlock()
		case "next":
			var p struct {
				Data struct {
					Events event
				}
				Errors []apptest.Error
			}
			if json.Unmarshal(m.Payload, &p) == nil && len(p.Errors) == 0 && onEvent != nil {
				onEvent(p.Data.Events)
			}
		case "error", "complete":
			s.err = fmt.Errorf("subscription ended: %s %s", m.Type, m.Payload)
			return
		}
	}
}

func (s *subscriber) Close() {
	s.writeMu.Lock()
	s.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	s.writeMu.Unlock()
	s.conn.Close()
	<-s.done
}

var errTimeout = errors.New("timed out")
