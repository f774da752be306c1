// apollo.mjs plays a short user story with Apollo Client, set up the way a
// web app would be: an HttpLink to /query for queries and mutations and a
// GraphQLWsLink (graphql-ws) for subscriptions, split by operation type,
// with a normalized InMemoryCache.
//
// The story is a list of named steps sharing one ctx. To cover a new
// feature (befriend, upload, history...), add its operations next to the
// others and append steps: each should leave in ctx what later steps need.
//
// Usage: node apollo.mjs http://127.0.0.1:8080

import { ApolloClient, ApolloLink, CombinedGraphQLErrors, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import UploadHttpLink from 'apollo-upload-client/UploadHttpLink.mjs';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

import {
  Events, check, equal, eventsSubscription, httpURL, nextEvent, nextMessage, story, waitSubscriptions, wsURL,
} from './lib.mjs';

// The operations of the story.

const REGISTER = gql`
  mutation Register($input: RegisterInput!) {
    register(input: $input) { accessToken user { id username } }
  }
`;

const LOGIN = gql`
  mutation Login($input: LoginInput!) {
    login(input: $input) { accessToken user { id username } }
  }
`;

const ME = gql`
  query Me { me { id username } }
`;

const SEND = gql`
  mutation Send($input: SendMessageInput!) {
    sendMessage(input: $input) { id text }
  }
`;

const EVENTS = gql(eventsSubscription);

const APPLY = gql`
  mutation Apply($input: ApplyFriendInput!) {
    applyFriend(input: $input) { id postscript operation }
  }
`;

const APPLICATIONS = gql`
  query Applications {
    me { id unhandledApplicationCount }
    friendApplications(operation: not_operated, first: 10) { edges { node { id postscript from { id username } } } }
  }
`;

const ACCEPT = gql`
  mutation Accept($id: ID!) { acceptFriendApplication(id: $id) { id friend { id isFriend } } }
`;

const UPLOAD = gql`
  mutation Upload($file: Upload!, $kind: FileKind!) {
    uploadFile(file: $file, kind: $kind) { id name contentType url }
  }
`;

const SEND_PARTS = gql`
  mutation SendParts($input: SendInput!) {
    send(input: $input) { id seq kind preview conversation { id } parts { category name url } }
  }
`;

const HISTORY = gql`
  query History($conversationId: ID!, $last: Int, $before: Cursor) {
    messages(conversationId: $conversationId, last: $last, before: $before) {
      edges { node { id seq text preview sender { id } } }
      pageInfo { hasPreviousPage startCursor }
    }
  }
`;

const EDIT = gql`
  mutation Edit($id: ID!, $text: String) {
    editMessage(id: $id, text: $text) { id text editedAt edits(first: 5) { edges { node { text } } } }
  }
`;

const REACT = gql`
  mutation React($id: ID!, $emoji: String!) {
    addReaction(messageId: $id, emoji: $emoji) { id reactions { emoji count mine } }
  }
`;

const REACTIONS = gql`
  query Reactions($id: ID!) {
    node(id: $id) { id ... on Message { text reactions { emoji count mine users(first: 5) { edges { node { id } } } } } }
  }
`;

const REPLY = gql`
  mutation Reply($input: SendInput!) {
    send(input: $input) { id text threadID }
  }
`;

const THREAD = gql`
  query Thread($id: ID!) {
    node(id: $id) { id ... on Message { thread { replyCount unreadCount participants { id } } } }
    threadMessages(rootId: $id, first: 10) { edges { node { id seq text } } }
  }
`;

const MARK_THREAD_READ = gql`
  mutation MarkThreadRead($rootId: ID!, $seq: Int!) {
    markThreadRead(rootId: $rootId, seq: $seq) { id thread { replyCount unreadCount } }
  }
`;

const PASSWORD = 'password1';

/**
 * connect returns an Apollo Client acting for the holder of token (anonymous
 * without one), and close(), which ends its WebSocket.
 */
function connect(token) {
  const ws = createClient({
    url: wsURL,
    webSocketImpl: WebSocket,
    connectionParams: token ? { Authorization: `Bearer ${token}` } : {},
    retryAttempts: 0,
  });
  const headers = token ? { authorization: `Bearer ${token}` } : {};
  // Uploads go through the multipart link, which the server accepts only
  // with a preflight header (its CSRF guard); everything else over plain
  // HTTP or, for subscriptions, graphql-ws.
  const link = ApolloLink.split(
    (operation) => operation.operationType === 'subscription',
    new GraphQLWsLink(ws),
    ApolloLink.split(
      (operation) => operation.operationName === 'Upload',
      new UploadHttpLink({ uri: httpURL, fetch, headers: { ...headers, 'Apollo-Require-Preflight': 'true' } }),
      new HttpLink({ uri: httpURL, fetch, headers }),
    ),
  );
  const client = new ApolloClient({ link, cache: new InMemoryCache() });
  return {
    client,
    close: async () => {
      client.stop();
      await ws.dispose();
    },
  };
}

/** graphQLError returns the first GraphQL error of a failed Apollo call, or fails. */
function graphQLError(err) {
  check(CombinedGraphQLErrors.is(err), `expected GraphQL errors, got ${err}`);
  return err.errors[0];
}

/** expectError runs call, which must fail with a GraphQL error, and returns that error. */
async function expectError(call) {
  try {
    await call();
  } catch (err) {
    return graphQLError(err);
  }
  throw new Error('the call succeeded, but it should have failed');
}

await story('Apollo Client: register, log in, message, befriend, upload, history, catch up, edit, react, thread, errors', [
  ['alice and bob register', async (ctx) => {
    ctx.anonymous = connect();
    ctx.users = {};
    for (const username of ['alice', 'bob']) {
      const { data } = await ctx.anonymous.client.mutate({
        mutation: REGISTER, variables: { input: { username, password: PASSWORD } },
      });
      equal(data.register.user.username, username, 'registered username');
      ctx.users[username] = { id: data.register.user.id };
    }
  }],

  ['bob logs in from a fresh, anonymous client', async (ctx) => {
    const fresh = connect();
    const { data } = await fresh.client.mutate({
      mutation: LOGIN, variables: { input: { login: 'bob', password: PASSWORD } },
    });
    await fresh.close();
    equal(data.login.user.id, ctx.users.bob.id, 'logged-in user');
    ctx.users.bob.token = data.login.accessToken;
    ctx.bob = connect(ctx.users.bob.token);
  }],

  ['logging in again while signed in fails with ALREADY_SIGNED_IN', async (ctx) => {
    const err = await expectError(() => ctx.bob.client.mutate({
      mutation: LOGIN, variables: { input: { login: 'bob', password: PASSWORD } },
    }));
    equal(err.extensions?.reason, 'ALREADY_SIGNED_IN', 'reason');
  }],

  ['alice logs in; each client knows who it is', async (ctx) => {
    const { data } = await ctx.anonymous.client.mutate({
      mutation: LOGIN, variables: { input: { login: 'alice', password: PASSWORD } },
    });
    ctx.users.alice.token = data.login.accessToken;
    ctx.alice = connect(ctx.users.alice.token);
    for (const name of ['alice', 'bob']) {
      const { data: me } = await ctx[name].client.query({ query: ME });
      equal(me.me.id, ctx.users[name].id, `${name}'s me.id`);
    }
  }],

  ['bob subscribes to his events over graphql-ws', async (ctx) => {
    ctx.bobEvents = new Events();
    ctx.bob.client.subscribe({ query: EVENTS }).subscribe(ctx.bobEvents.observer);
    await waitSubscriptions(1);
  }],

  ['alice sends bob "hello"; bob receives it live', async (ctx) => {
    const { data } = await ctx.alice.client.mutate({
      mutation: SEND, variables: { input: { to: ctx.users.bob.id, text: 'hello', clientId: 'apollo-1' } },
    });
    equal(data.sendMessage.text, 'hello', 'sent text');
    const { ev, skipped } = await nextMessage(ctx.bobEvents);
    check(skipped.includes('MEMBER_JOINED'), `expected MEMBER_JOINED before the message, got ${skipped}`);
    equal(ev.node?.id, data.sendMessage.id, 'received message id');
    equal(ev.node?.text, 'hello', 'received text');
  }],

  ['a bad request surfaces extensions.code: empty text is BAD_USER_INPUT', async (ctx) => {
    const err = await expectError(() => ctx.alice.client.mutate({
      mutation: SEND, variables: { input: { to: ctx.users.bob.id, text: '' } },
    }));
    equal(err.extensions?.code, 'BAD_USER_INPUT', 'code');
    equal(err.extensions?.field, 'input.text', 'field');
  }],

  ['an invalid operation surfaces GRAPHQL_VALIDATION_FAILED', async (ctx) => {
    const err = await expectError(() => ctx.alice.client.query({ query: gql`query { me { noSuchField } }` }));
    equal(err.extensions?.code, 'GRAPHQL_VALIDATION_FAILED', 'code');
  }],

  ['alice asks bob to be friends; bob sees the application and accepts', async (ctx) => {
    const { data } = await ctx.alice.client.mutate({
      mutation: APPLY, variables: { input: { userId: ctx.users.bob.id, postscript: 'it is Alice' } },
    });
    equal(data.applyFriend.operation, 'not_operated', 'application state');
    const { data: pending } = await ctx.bob.client.query({ query: APPLICATIONS, fetchPolicy: 'network-only' });
    equal(pending.me.unhandledApplicationCount, 1, 'unhandled applications');
    const app = pending.friendApplications.edges[0].node;
    equal(app.from.username, 'alice', 'applicant');
    const { data: accepted } = await ctx.bob.client.mutate({ mutation: ACCEPT, variables: { id: app.id } });
    equal(accepted.acceptFriendApplication.friend.id, ctx.users.alice.id, 'new friend');
    equal(accepted.acceptFriendApplication.friend.isFriend, true, 'isFriend');
  }],

  ['alice uploads an image and sends it; bob receives it live', async (ctx) => {
    const png = Buffer.from(
      'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=', 'base64');
    const file = new File([png], '猫.png', { type: 'image/png' });
    const { data } = await ctx.alice.client.mutate({ mutation: UPLOAD, variables: { file, kind: 'image' } });
    equal(data.uploadFile.name, '猫.png', 'uploaded name');
    equal(data.uploadFile.contentType, 'image/png', 'sniffed type');
    const { data: sent } = await ctx.alice.client.mutate({
      mutation: SEND_PARTS,
      variables: { input: { to: ctx.users.bob.id, parts: [{ category: 'image', fileId: data.uploadFile.id }] } },
    });
    equal(sent.send.kind, 'image', 'message kind');
    ctx.conversationId = sent.send.conversation.id;
    const { ev } = await nextMessage(ctx.bobEvents);
    equal(ev.node?.id, sent.send.id, 'received the image message');
    ctx.lastCursor = ev.cursor;
    // Bob fetches the picture by the URL his copy of the message carries.
    const { data: page } = await ctx.bob.client.query({
      query: HISTORY, variables: { conversationId: ctx.conversationId, last: 1 }, fetchPolicy: 'network-only',
    });
    equal(page.messages.edges[0].node.preview, '[image]', 'preview');
    const res = await fetch(new URL(sent.send.parts[0].url, httpURL));
    equal(res.status, 200, 'image download status');
    equal(res.headers.get('content-type'), 'image/png', 'image content type');
  }],

  ['bob pages the history backwards', async (ctx) => {
    for (let i = 1; i <= 5; i++) {
      await ctx.alice.client.mutate({ mutation: SEND, variables: { input: { to: ctx.users.bob.id, text: `page ${i}` } } });
    }
    const seen = [];
    let before = null;
    for (;;) {
      const { data } = await ctx.bob.client.query({
        query: HISTORY, variables: { conversationId: ctx.conversationId, last: 3, before }, fetchPolicy: 'network-only',
      });
      seen.unshift(...data.messages.edges.map((e) => e.node.seq));
      if (!data.messages.pageInfo.hasPreviousPage) break;
      before = data.messages.pageInfo.startCursor;
    }
    equal(JSON.stringify(seen), JSON.stringify([1, 2, 3, 4, 5, 6, 7]), 'every seq once, in order');
    // Skip the live copies of those five messages.
    for (let i = 0; i < 5; i++) ctx.lastCursor = (await nextMessage(ctx.bobEvents)).ev.cursor;
  }],

  ['bob goes offline, alice writes, bob reconnects and catches up from his cursor', async (ctx) => {
    await ctx.bob.close();
    for (const text of ['while you were out', 'one more']) {
      await ctx.alice.client.mutate({ mutation: SEND, variables: { input: { to: ctx.users.bob.id, text } } });
    }
    ctx.bob = connect(ctx.users.bob.token);
    const events = new Events();
    ctx.bob.client.subscribe({ query: EVENTS, variables: { after: ctx.lastCursor } }).subscribe(events.observer);
    const texts = [];
    for (let i = 0; i < 2; i++) {
      const { ev } = await nextMessage(events);
      texts.push(ev.node?.text);
      ctx.lastMessageId = ev.node?.id;
    }
    equal(JSON.stringify(texts), JSON.stringify(['while you were out', 'one more']), 'missed messages, in order');
    ctx.bobEvents = events;
  }],

  ['alice edits her last message; bob is told live and reads the new text', async (ctx) => {
    const { data } = await ctx.alice.client.mutate({
      mutation: EDIT, variables: { id: ctx.lastMessageId, text: 'one more, edited' },
    });
    equal(data.editMessage.text, 'one more, edited', 'edited text');
    check(data.editMessage.editedAt, 'editedAt is set');
    equal(JSON.stringify(data.editMessage.edits.edges.map((e) => e.node.text)), JSON.stringify(['one more']), 'earlier version');
    let ev;
    do ev = await nextEvent(ctx.bobEvents); while (ev.kind !== 'MESSAGE_EDITED');
    equal(ev.node?.id, ctx.lastMessageId, 'edited message id');
    equal(ev.node?.text, 'one more, edited', 'the event carries the new text');
  }],

  ['bob reacts with 👍; alice sees the count, and who reacted', async (ctx) => {
    const { data } = await ctx.bob.client.mutate({ mutation: REACT, variables: { id: ctx.lastMessageId, emoji: '👍' } });
    equal(JSON.stringify(data.addReaction.reactions), JSON.stringify([{ __typename: 'Reaction', emoji: '👍', count: 1, mine: true }]), "bob's view");
    let ev;
    do ev = await nextEvent(ctx.bobEvents); while (ev.kind !== 'MESSAGE_REACTED');
    equal(ev.node?.id, ctx.lastMessageId, 'reacted message id');
    const { data: seen } = await ctx.alice.client.query({ query: REACTIONS, variables: { id: ctx.lastMessageId }, fetchPolicy: 'network-only' });
    const [r] = seen.node.reactions;
    equal(r.count, 1, 'count');
    equal(r.mine, false, "alice's view: not hers");
    equal(r.users.edges[0].node.id, ctx.users.bob.id, 'bob reacted');
    const err = await expectError(() => ctx.bob.client.mutate({ mutation: REACT, variables: { id: ctx.lastMessageId, emoji: 'no' } }));
    equal(err.extensions?.reason, 'EMOJI_INVALID', 'a word is no emoji');
  }],

  ['bob replies in the thread of that message; alice reads the thread, its unread count, and marks it read', async (ctx) => {
    const { data } = await ctx.bob.client.mutate({
      mutation: REPLY, variables: { input: { to: ctx.users.alice.id, text: 'a reply', threadId: ctx.lastMessageId } },
    });
    equal(data.send.threadID, ctx.lastMessageId, 'the reply is in the thread');
    let ev;
    do ev = await nextEvent(ctx.bobEvents); while (ev.kind !== 'THREAD_UPDATED');
    equal(ev.node?.id, ctx.lastMessageId, "the event carries the thread's root");
    const { data: seen } = await ctx.alice.client.query({ query: THREAD, variables: { id: ctx.lastMessageId }, fetchPolicy: 'network-only' });
    equal(seen.node.thread.replyCount, 1, 'one reply');
    equal(seen.node.thread.unreadCount, 1, 'unread for alice');
    equal(JSON.stringify(seen.node.thread.participants.map((u) => u.id)), JSON.stringify([ctx.users.alice.id, ctx.users.bob.id]), 'participants');
    const [reply] = seen.threadMessages.edges;
    equal(reply.node.text, 'a reply', 'the thread holds the reply');
    const { data: marked } = await ctx.alice.client.mutate({ mutation: MARK_THREAD_READ, variables: { rootId: ctx.lastMessageId, seq: reply.node.seq } });
    equal(marked.markThreadRead.thread.unreadCount, 0, 'read');
    const err = await expectError(() => ctx.alice.client.mutate({
      mutation: REPLY, variables: { input: { to: ctx.users.bob.id, text: 'nested', threadId: reply.node.id } },
    }));
    equal(err.extensions?.reason, 'THREAD_NOT_ROOT', 'threads are one level deep');
  }],

  ['everyone disconnects', async (ctx) => {
    await Promise.all([ctx.anonymous, ctx.alice, ctx.bob].map((c) => c.close()));
  }],
]);
