// lib.mjs holds what the client scripts share: the server's address, plain
// HTTP GraphQL calls for setting up accounts, a wait for the server to
// register subscriptions, and a small runner of named steps ("a story") that
// prints each step and exits 1 at the first that fails.
//
// Scripts get the server's base URL (http://127.0.0.1:port) as their only
// argument, from clients_test.go.

import { check, story as runStory, within } from '../story.mjs';

/** base is the server's base URL; /query is its GraphQL endpoint. */
export const base = process.argv[2];
if (!base) {
  console.error(`usage: node ${process.argv[1]} <server base URL>`);
  process.exit(2);
}
export { check, within };
export const httpURL = `${base}/query`;
export const wsURL = httpURL.replace(/^http/, 'ws');

/** stepTimeout bounds one step, so that a lost event fails fast and says where. */
const stepTimeout = 15_000;

/**
 * story runs steps, a list of [name, async (ctx) => {}] pairs, in order with
 * one shared ctx object, and exits the process: 0 when every step passed, 1
 * at the first failure (test/story.mjs).
 */
export function story(title, steps) {
  return runStory(`${title} (${base})`, steps, { timeout: stepTimeout });
}

/** equal throws unless actual === expected, showing both. */
export function equal(actual, expected, what) {
  if (actual !== expected) {
    throw new Error(`${what}: got ${JSON.stringify(actual)}, want ${JSON.stringify(expected)}`);
  }
}

/**
 * gql posts one GraphQL request with fetch, as the simplest client would,
 * and returns its data; GraphQL errors are thrown. Scripts use it to set up
 * the accounts the client under test then uses.
 */
export async function gql(query, variables = {}, token = '') {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(httpURL, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  const body = await res.json();
  if (body.errors?.length) {
    throw new Error(`${res.status} ${JSON.stringify(body.errors)}`);
  }
  return body.data;
}

/** register creates an account and returns { id, token } (password "password1"). */
export async function register(username) {
  const { register } = await gql(
    `mutation($in: RegisterInput!) { register(input: $in) { accessToken user { id } } }`,
    { in: { username, password: 'password1' } },
  );
  return { id: register.user.id, token: register.accessToken };
}

/** send has from send a direct text message to the user with id to. */
export async function send(from, to, text, clientId) {
  const { sendMessage } = await gql(
    `mutation($in: SendMessageInput!) { sendMessage(input: $in) { id } }`,
    { in: { to, text, clientId } },
    from.token,
  );
  return sendMessage.id;
}

/** eventsSubscription is Parley's stream of everything that happens to the viewer. */
export const eventsSubscription = `subscription($after: String) {
  events(after: $after) { cursor kind node { id ... on Message { text } } }
}`;

/**
 * waitSubscriptions waits until the server holds at least n subscriptions.
 * A client cannot see when the server has registered its subscribe message,
 * and a live-only subscription misses what commits before that, so a script
 * waits before it makes the events it expects. The endpoint is served by
 * clients_test.go next to the API, not by Parley.
 */
export async function waitSubscriptions(n) {
  const res = await fetch(`${base}/test/subscriptions?atLeast=${n}`);
  check(res.ok, `server did not reach ${n} subscriptions: ${res.status} ${await res.text()}`);
}

/**
 * Events turns push callbacks (next, error, complete) into awaitable
 * events: next() returns the next one, in order, and throws the stream's
 * error, or when the stream completed instead.
 */
export class Events {
  #queue = [];
  #waiting = [];

  push = (item) => {
    const waiter = this.#waiting.shift();
    if (waiter) waiter(item);
    else this.#queue.push(item);
  };

  /** observer is what Observable-style subscribe() calls take. */
  observer = {
    next: (value) => this.push({ value }),
    error: (error) => this.push({ error }),
    complete: () => this.push({ done: true }),
  };

  async next() {
    const item = this.#queue.length ? this.#queue.shift() : await new Promise((r) => this.#waiting.push(r));
    if (item.error) throw new Error(`stream failed: ${JSON.stringify(item.error?.message ?? item.error)}`);
    if (item.done) throw new Error('stream completed');
    return item.value;
  }
}

/**
 * nextEvent returns the next LiveEvent of an events subscription's results
 * (payloads of the shape { data: { events } }), failing on GraphQL errors:
 * in errors for graphql-ws and subscriptions-transport-ws, in error for
 * Apollo Client.
 */
export async function nextEvent(events) {
  const result = await events.next();
  check(!result.errors?.length, `subscription error: ${JSON.stringify(result.errors)}`);
  check(!result.error, `subscription error: ${result.error}`);
  return result.data.events;
}

/**
 * nextMessage skips to the next MESSAGE_CREATED event and returns it,
 * with the kinds it skipped, so a caller can check what came before.
 */
export async function nextMessage(events) {
  const skipped = [];
  for (;;) {
    const ev = await nextEvent(events);
    if (ev.kind === 'MESSAGE_CREATED') return { ev, skipped };
    skipped.push(ev.kind);
  }
}
