package app

// This file serves GraphQL over plain HTTP (POST with a JSON body, and GET)
// as the GraphQL-over-HTTP specification asks
// (https://graphql.github.io/graphql-over-http/draft/), checked by
// graphql-http's audit in test/clients. gqlgen's own POST and GET transports
// differ from it in a few places, listed on httpTransport.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/parley-im/parley/internal/platform/apperr"
)

// Media types of a GraphQL response. The client picks one with Accept.
const (
	mediaJSON            = "application/json"
	mediaGraphQLResponse = "application/graphql-response+json"
)

// codeBadRequest is the extensions.code of a request that is not a GraphQL
// request at all (a body that is not JSON, a query that is not a string...).
// It is Apollo Server's code for the same failures.
const codeBadRequest = "BAD_REQUEST"

// reasonMalformed is the reason of a BAD_REQUEST that no more exact
// reason names: a body or URL that is not a GraphQL request.
const reasonMalformed = "MALFORMED_REQUEST"

// badRequest is a BAD_REQUEST error with its reason, which every error
// carries.
func badRequest(reason, message string) *gqlerror.Error {
	return &gqlerror.Error{Message: message, Extensions: map[string]any{"code": codeBadRequest, "reason": reason}}
}

// httpTransport is the gqlgen transport for GET and for POST with a JSON body
// (it replaces transport.GET and transport.POST). Successful requests behave
// as with gqlgen's transports; failures follow the GraphQL-over-HTTP spec:
//
//   - A request that is not well-formed (a body that is not a JSON object;
//     query, operationName, variables or extensions of the wrong type; no
//     query and no persisted-query hash) gets 400 with a BAD_REQUEST error,
//     and 413 when the body is too large. gqlgen answered 422 for some of
//     these, and for others panicked inside entgql.Transactioner, which
//     needs an operation context that a failed decode does not have.
//   - A well-formed request that fails before execution (a parse,
//     validation or variable-coercion error, an operation over the limits,
//     an unknown persisted query) is a "request error": its response has no
//     data entry. It gets 200 when the client accepts application/json, and
//     400 when it asks for application/graphql-response+json. gqlgen
//     answered 422 with application/json, and "data": null with both.
//   - A subscription over plain HTTP is a request error too: subscriptions
//     are served over WebSocket. gqlgen held the request until its deadline.
//   - A mutation over GET gets 405 with Allow: POST. gqlgen answered 406.
//
// Everything else (the executor, extensions such as APQ and the limits, the
// error presenter) is gqlgen's, reached through graphql.GraphExecutor.
type httpTransport struct{}

var _ graphql.Transport = httpTransport{}

// Supports claims every request that is not a WebSocket upgrade. It is the
// last transport: OPTIONS, HEAD and multipart uploads have theirs before
// it, so what reaches it and is not GET or POST application/json gets 405
// or 415 with a BAD_REQUEST error, where gqlgen answered 400 "transport not
// supported" without a code.
func (httpTransport) Supports(r *http.Request) bool {
	return r.Header.Get("Upgrade") == ""
}

// Do reads the request's parameters, prepares the operation and runs it.
func (httpTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	media := responseMediaType(r.Header.Get("Accept"))
	w.Header().Set("Content-Type", media)

	switch r.Method {
	case http.MethodGet:
	case http.MethodPost:
		if mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mediaType != mediaJSON {
			writeResponse(w, http.StatusUnsupportedMediaType, false, &graphql.Response{Errors: gqlerror.List{
				badRequest("UNSUPPORTED_MEDIA_TYPE", "POST a GraphQL request as application/json (uploads as multipart/form-data)"),
			}})
			return
		}
	default:
		w.Header().Set("Allow", "GET, POST, OPTIONS")
		writeResponse(w, http.StatusMethodNotAllowed, false, &graphql.Response{Errors: gqlerror.List{
			badRequest("METHOD_NOT_ALLOWED", "GraphQL is served by GET and POST"),
		}})
		return
	}

	start := graphql.Now()
	params, status, err := readParams(r)
	if err != nil {
		reason := reasonMalformed
		if status == http.StatusRequestEntityTooLarge {
			reason = "BODY_TOO_LARGE"
		}
		writeResponse(w, status, false, &graphql.Response{Errors: gqlerror.List{badRequest(reason, err.Error())}})
		return
	}
	params.Headers = r.Header
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}

	ctx := r.Context()
	opCtx, errs := exec.CreateOperationContext(ctx, params)
	if errs == nil && opCtx.Operation.Operation == ast.Subscription {
		errs = gqlerror.List{badRequest("SUBSCRIPTION_OVER_HTTP", "subscriptions are served over WebSocket (graphql-transport-ws or graphql-ws) at this path")}
	}
	if errs != nil {
		status := http.StatusOK
		if media == mediaGraphQLResponse {
			status = http.StatusBadRequest
		}
		writeResponse(w, status, false, exec.DispatchError(graphql.WithOperationContext(ctx, opCtx), errs))
		return
	}
	if r.Method == http.MethodGet && opCtx.Operation.Operation != ast.Query {
		// The spec's answer to an operation with side effects over GET.
		w.Header().Set("Allow", http.MethodPost)
		writeResponse(w, http.StatusMethodNotAllowed, false, &graphql.Response{Errors: gqlerror.List{
			badRequest("MUTATION_OVER_GET", "GET carries queries only: send mutations with POST"),
		}})
		return
	}

	responses, ctx := exec.DispatchOperation(ctx, opCtx)
	rsp := responses(ctx)
	if rsp == nil {
		// The request's deadline passed, or its client left, before the
		// operation produced a response.
		writeResponse(w, http.StatusServiceUnavailable, false, &graphql.Response{Errors: gqlerror.List{{
			Message: "request timed out", Extensions: map[string]any{"code": string(apperr.Internal), "reason": "TIMEOUT"},
		}}})
		return
	}
	writeResponse(w, http.StatusOK, true, rsp)
}

// responseMediaType picks the response's media type from the Accept header
// as gqlgen does: the first listed type Parley can produce wins (q-values
// are ignored), */* and a missing header mean application/json, and an
// Accept that lists neither gets application/graphql-response+json.
func responseMediaType(accept string) string {
	if accept == "" {
		return mediaJSON
	}
	for part := range strings.SplitSeq(accept, ",") {
		mediaType, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mediaType {
		case "*/*", "application/*", mediaJSON:
			return mediaJSON
		case mediaGraphQLResponse:
			return mediaGraphQLResponse
		}
	}
	return mediaGraphQLResponse
}

// readParams reads a request's GraphQL parameters: the JSON body of a POST,
// the URL parameters of a GET. A request that is not well-formed returns an
// error saying why and its HTTP status.
func readParams(r *http.Request) (*graphql.RawParams, int, error) {
	if r.Method == http.MethodGet {
		return readGetParams(r)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		if tooLarge := (*http.MaxBytesError)(nil); errors.As(err, &tooLarge) {
			return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("request body is larger than %d bytes", tooLarge.Limit)
		}
		return nil, http.StatusBadRequest, fmt.Errorf("could not read the request body: %v", err)
	}
	// Pointers tell a missing or null parameter from an empty one; the typed
	// fields make encoding/json refuse parameters of the wrong type.
	var in struct {
		Query         *string        `json:"query"`
		OperationName *string        `json:"operationName"`
		Variables     map[string]any `json:"variables"`
		Extensions    map[string]any `json:"extensions"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // as gqlgen does: graph/limits reads first/last as json.Number
	if err := dec.Decode(&in); err != nil {
		return nil, http.StatusBadRequest, fmt.Errorf("the body is not a GraphQL request (a JSON object with a string query): %v", err)
	}
	if dec.More() {
		return nil, http.StatusBadRequest, errors.New("the body has data after its JSON object")
	}
	p := &graphql.RawParams{Variables: in.Variables, Extensions: in.Extensions}
	if in.OperationName != nil {
		p.OperationName = *in.OperationName
	}
	if in.Query != nil {
		p.Query = *in.Query
	}
	if in.Query == nil && p.Extensions["persistedQuery"] == nil {
		return nil, http.StatusBadRequest, errors.New("the request has no query")
	}
	return p, 0, nil
}

// readGetParams reads query, operationName and the JSON-encoded variables
// and extensions from a GET request's URL.
func readGetParams(r *http.Request) (*graphql.RawParams, int, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, http.StatusBadRequest, fmt.Errorf("the URL's parameters do not parse: %v", err)
	}
	p := &graphql.RawParams{Query: q.Get("query"), OperationName: q.Get("operationName")}
	for name, into := range map[string]*map[string]any{"variables": &p.Variables, "extensions": &p.Extensions} {
		raw := q.Get(name)
		if raw == "" {
			continue
		}
		dec := json.NewDecoder(strings.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(into); err != nil {
			return nil, http.StatusBadRequest, fmt.Errorf("the %s parameter is not a JSON object: %v", name, err)
		}
	}
	if !q.Has("query") && p.Extensions["persistedQuery"] == nil {
		return nil, http.StatusBadRequest, errors.New("the request has no query parameter")
	}
	return p, 0, nil
}

// writeResponse writes one GraphQL response with status. A response to a
// request that failed before execution must not have a data entry, while an
// executed one always has it (null when a non-null root field failed), so
// executed says which of the two the response is.
func writeResponse(w http.ResponseWriter, status int, executed bool, rsp *graphql.Response) {
	var body []byte
	var err error
	if executed {
		body, err = marshalExecuted(rsp)
	} else {
		body, err = json.Marshal(struct {
			Errors     gqlerror.List  `json:"errors"`
			Extensions map[string]any `json:"extensions,omitempty"`
		}{rsp.Errors, rsp.Extensions})
	}
	if err != nil {
		// Resolvers return values the generated code marshals; this is a bug.
		panic(fmt.Errorf("app: marshal GraphQL response: %w", err))
	}
	w.WriteHeader(status)
	w.Write(body)
}

// marshalExecuted is json.Marshal(rsp) for an executed operation, without
// encoding/json compacting and validating rsp.Data byte by byte, as it does
// for every json.RawMessage: the data is most of the body (a history page's
// tens of kilobytes) and gqlgen's marshalers wrote it as compact JSON. It
// is HTML-escaped as json.Marshal would have (json.HTMLEscape), and the
// other members are marshaled as graphql.Response tags them, in its order.
func marshalExecuted(rsp *graphql.Response) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(rsp.Data) + 64)
	buf.WriteByte('{')
	if len(rsp.Errors) > 0 {
		errs, err := json.Marshal(rsp.Errors)
		if err != nil {
			return nil, err
		}
		buf.WriteString(`"errors":`)
		buf.Write(errs)
		buf.WriteByte(',')
	}
	buf.WriteString(`"data":`)
	if len(rsp.Data) == 0 {
		buf.WriteString("null")
	} else {
		json.HTMLEscape(&buf, rsp.Data)
	}
	rest, err := json.Marshal(struct {
		Label      string         `json:"label,omitempty"`
		Path       ast.Path       `json:"path,omitempty"`
		HasNext    *bool          `json:"hasNext,omitempty"`
		Extensions map[string]any `json:"extensions,omitempty"`
	}{rsp.Label, rsp.Path, rsp.HasNext, rsp.Extensions})
	if err != nil {
		return nil, err
	}
	if len(rest) > 2 { // not {}
		buf.WriteByte(',')
		buf.Write(rest[1 : len(rest)-1])
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// codedTransport gives the refusals of another gqlgen transport the shape of
// httpTransport's (hostile input). gqlgen's multipart transport
// answers a malformed upload (operations or map that do not parse, a path
// or file that is missing) with 422 or 200 and an error without
// extensions.code, and its request errors (validation) with 422 and
// "data": null. Such answers become 400 without a data entry, and errors
// without a code get BAD_REQUEST; a body that passed its limit gets 413
// FILE_TOO_LARGE, as uploadGuard answers a declared length over it.
// Executed operations pass through unchanged. It buffers the answer, which
// for an upload is a small JSON document.
type codedTransport struct{ graphql.Transport }

func (t codedTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	body := &limitSeen{ReadCloser: r.Body}
	r.Body = body
	cw := &heldWriter{ResponseWriter: w}
	t.Transport.Do(cw, r, exec)

	status := cw.status
	if status == 0 {
		status = http.StatusOK
	}
	var rsp struct {
		Data   json.RawMessage `json:"data"`
		Errors gqlerror.List   `json:"errors"`
	}
	if json.Unmarshal(cw.buf.Bytes(), &rsp) != nil || len(rsp.Errors) == 0 {
		w.WriteHeader(status)
		w.Write(cw.buf.Bytes())
		return
	}
	executed := len(rsp.Data) > 0 && !bytes.Equal(rsp.Data, []byte("null"))
	uncoded := false
	for _, e := range rsp.Errors {
		if _, ok := e.Extensions["code"]; !ok {
			uncoded = true
			if e.Extensions == nil {
				e.Extensions = map[string]any{}
			}
			e.Extensions["code"] = codeBadRequest
			if _, ok := e.Extensions["reason"]; !ok {
				e.Extensions["reason"] = reasonMalformed
			}
		}
	}
	if executed || (!uncoded && status != http.StatusUnprocessableEntity) {
		w.WriteHeader(status)
		w.Write(cw.buf.Bytes())
		return
	}
	if body.hit { // as uploadGuard answers a declared length over the limit
		writeResponse(w, http.StatusRequestEntityTooLarge, false, &graphql.Response{Errors: gqlerror.List{{
			Message:    "the request is larger than the upload limit",
			Extensions: apperr.Input(apperr.ReasonFileTooLarge, "file", "").Extensions(),
		}}})
		return
	}
	writeResponse(w, http.StatusBadRequest, false, &graphql.Response{Errors: rsp.Errors})
}

// heldWriter holds a response's status and body until the transport is done.
type heldWriter struct {
	http.ResponseWriter
	status int
	buf    bytes.Buffer
}

func (h *heldWriter) WriteHeader(status int) {
	if h.status == 0 {
		h.status = status
	}
}

func (h *heldWriter) Write(b []byte) (int, error) { return h.buf.Write(b) }

// limitSeen notes when reading the body hit http.MaxBytesReader's limit.
type limitSeen struct {
	io.ReadCloser
	hit bool
}

func (l *limitSeen) Read(p []byte) (int, error) {
	n, err := l.ReadCloser.Read(p)
	if tooLarge := (*http.MaxBytesError)(nil); err != nil && errors.As(err, &tooLarge) {
		l.hit = true
	}
	return n, err
}
