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
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

import {
  Events, check, equal, eventsSubscription, httpURL, nextMessage, story, waitSubscriptions, wsURL,
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
  const link = ApolloLink.split(
    (operation) => operation.operationType === 'subscription',
    new GraphQLWsLink(ws),
    new HttpLink({ uri: httpURL, fetch, headers: token ? { authorization: `Bearer ${token}` } : {} }),
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

await story('Apollo Client: register, log in, message, errors', [
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
    check(skipped.includes('member.joined'), `expected member.joined before the message, got ${skipped}`);
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

  ['everyone disconnects', async (ctx) => {
    await Promise.all([ctx.anonymous, ctx.alice, ctx.bob].map((c) => c.close()));
  }],
]);
