// playground.js starts GraphiQL on this server's API. Everything it loads
// comes from this server (the page's Content-Security-Policy allows nothing
// else), so the playground works with no internet.
(function () {
  'use strict';

  // The API is beside the page, wherever the page is served (a proxy may
  // put it under a path), and subscriptions go over a WebSocket to the same
  // URL: wss:// for an https:// page.
  var api = new URL('query', document.baseURI);
  var socket = new URL(api.href);
  socket.protocol = api.protocol === 'https:' ? 'wss:' : 'ws:';

  var http = GraphiQL.createFetcher({ url: api.href, enableIncrementalDelivery: false });

  // isSubscription tells whether the operation GraphiQL runs is a
  // subscription (the operation named, or the document's only one).
  function isSubscription(params, opts) {
    var doc = opts && opts.documentAST;
    if (!doc) return false;
    var ops = doc.definitions.filter(function (d) { return d.kind === 'OperationDefinition'; });
    var op = ops.length === 1 ? ops[0] : null;
    if (params.operationName) {
      op = ops.filter(function (d) { return d.name && d.name.value === params.operationName; })[0];
    }
    return !!op && op.operation === 'subscription';
  }

  // Subscriptions use graphql-ws (protocol graphql-transport-ws). The JSON
  // of the Headers panel is the connection_init payload, so
  // {"Authorization": "Bearer <token>"} signs the socket in, as it signs in
  // HTTP requests. One client per payload: a tab with other headers gets a
  // socket of its own. Sockets close when their last subscription ends,
  // and a refused one is not retried, so its close reason (4403
  // TOKEN_EXPIRED...) shows at once in the result pane.
  var clients = {};
  function client(headers) {
    var key = JSON.stringify(headers || {});
    if (!clients[key]) {
      clients[key] = graphqlWs.createClient({
        url: socket.href,
        connectionParams: headers || {},
        lazy: true,
        retryAttempts: 0,
      });
    }
    return clients[key];
  }

  function socketError(e) {
    if (Array.isArray(e)) return e; // GraphQL errors of the subscription
    if (e && typeof e.code === 'number') {
      return new Error('WebSocket closed with code ' + e.code + (e.reason ? ' ' + e.reason : ''));
    }
    if (e instanceof Error) return e;
    return new Error('WebSocket to ' + socket.href + ' failed');
  }

  function fetcher(params, opts) {
    if (!isSubscription(params, opts)) return http(params, opts);
    var c = client(opts && opts.headers);
    return {
      subscribe: function (sink) {
        var dispose = c.subscribe(params, {
          next: function (v) { sink.next(v); },
          error: function (e) { sink.error(socketError(e)); },
          complete: function () { sink.complete(); },
        });
        return { unsubscribe: dispose };
      },
    };
  }

  // No token outlives the page: GraphiQL keeps tabs and history in
  // localStorage, and its history keeps each run's headers even when
  // headers are not to be persisted. This storage empties every "headers"
  // field of what GraphiQL stores (null, which GraphiQL reads as none: a
  // tab without the field would make it drop every stored tab), and drops
  // the headers' own key.
  function scrub(value) {
    if (Array.isArray(value)) return value.map(scrub);
    if (value && typeof value === 'object') {
      var out = {};
      Object.keys(value).forEach(function (k) {
        out[k] = k === 'headers' ? null : scrub(value[k]);
      });
      return out;
    }
    return value;
  }
  var storage = {
    getItem: function (k) { try { return localStorage.getItem(k); } catch (e) { return null; } },
    setItem: function (k, v) {
      try {
        if (k === 'graphiql:headers') {
          localStorage.removeItem(k);
          return;
        }
        var parsed;
        try { parsed = JSON.parse(v); } catch (e) { parsed = undefined; }
        localStorage.setItem(k, parsed !== null && typeof parsed === 'object' ? JSON.stringify(scrub(parsed)) : v);
      } catch (e) { /* storage full or off: GraphiQL works without it */ }
    },
    removeItem: function (k) { try { localStorage.removeItem(k); } catch (e) { /* off */ } },
    clear: function () {
      try {
        Object.keys(localStorage).forEach(function (k) {
          if (k.indexOf('graphiql:') === 0) localStorage.removeItem(k);
        });
      } catch (e) { /* off */ }
    },
    get length() {
      try {
        return Object.keys(localStorage).filter(function (k) { return k.indexOf('graphiql:') === 0; }).length;
      } catch (e) { return 0; }
    },
  };

  // The README's session, one tab each (README, "A session in the
  // playground").
  var tabs = [
    {
      query: `# Register two accounts. Leave the Headers panel empty:
# login refuses a request that already carries a valid
# token (ALREADY_SIGNED_IN). Run: Ctrl-Enter or ▶.
mutation Register {
  alice: register(input: {
    username: "alice", password: "password1", phone: "+8613800000001",
    nickname: "Alice", sign: "hello", location: "Paris"
  }) {
    user { id username }
  }
  bob: register(input: {username: "bob", password: "password2"}) {
    accessToken
    user { id username }
  }
}
`,
    },
    {
      query: `# Log in as alice, by username, email or phone. Her
# accessToken goes in the Headers panel of other tabs:
#   {"Authorization": "Bearer <accessToken>"}
mutation Login {
  login(input: {
    login: "+8613800000001", password: "password1"
  }) {
    accessToken refreshToken expiresAt
    user { id username }
  }
}
`,
    },
    {
      query: `# Who am I? The access token goes in the Headers panel:
#   {"Authorization": "Bearer <accessToken>"}
query Me {
  me { id username nickname phone sign location publicID }
}
`,
    },
    {
      query: `# Send a message to bob, with alice's token in the
# Headers panel and bob's id from the Register tab. The
# first message opens their direct conversation; a retry
# with the same clientId returns the same message.
mutation SendMessage {
  sendMessage(input: {
    to: "<bob's id>", text: "Hello Bob", clientId: "c-1"
  }) {
    id seq text createdAt
    conversation { id kind }
  }
}
`,
    },
    {
      query: `# Bob's live events, over a WebSocket. Open the
# playground in a second browser tab (changing tabs here
# stops a running subscription), put bob's token in its
# Headers panel (it is sent as the connection_init
# payload) and run this. Then send bob a message from
# alice in the first tab (SendMessage, another text and
# no clientId): it arrives here. Pass the last cursor as
# events(after:) to resume where the stream stopped.
subscription Events {
  events {
    cursor kind reason
    node {
      id
      ... on Message { seq text sender { username } }
      ... on Conversation { kind }
    }
  }
}
`,
    },
  ];

  ReactDOM.createRoot(document.getElementById('graphiql')).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultTabs: tabs,
      defaultEditorToolsVisibility: 'headers',
      shouldPersistHeaders: false,
      storage: storage,
    })
  );
})();
