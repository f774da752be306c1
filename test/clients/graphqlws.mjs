// graphqlws.mjs checks Parley's events subscription with graphql-ws, the
// reference client of the graphql-transport-ws protocol: live delivery, then
// resume after a disconnect with no gap and no duplicate.
//
// Usage: node graphqlws.mjs http://127.0.0.1:8080

import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

import {
  Events, check, equal, eventsSubscription, nextMessage, register, send, story, waitSubscriptions, wsURL,
} from './lib.mjs';

/** subscribe opens a graphql-ws connection as user and subscribes to his events after cursor. */
function subscribe(user, after) {
  const client = createClient({
    url: wsURL,
    webSocketImpl: WebSocket,
    connectionParams: { Authorization: `Bearer ${user.token}` },
    retryAttempts: 0, // a failure must fail the script, not be retried away
  });
  const events = new Events();
  client.subscribe({ query: eventsSubscription, variables: { after } }, events.observer);
  return { client, events };
}

await story('graphql-ws: live events and resume', [
  ['register alice and bob over HTTP', async (ctx) => {
    ctx.alice = await register('alice');
    ctx.bob = await register('bob');
  }],

  ['bob subscribes to his events', async (ctx) => {
    ctx.live = subscribe(ctx.bob, null);
    await waitSubscriptions(1);
  }],

  ['alice sends "hi": bob receives MEMBER_JOINED, then MESSAGE_CREATED', async (ctx) => {
    const id = await send(ctx.alice, ctx.bob.id, 'hi', 'c1');
    const { ev, skipped } = await nextMessage(ctx.live.events);
    check(skipped.includes('MEMBER_JOINED'), `expected MEMBER_JOINED before the message, got ${skipped}`);
    equal(ev.node?.id, id, 'message id');
    equal(ev.node?.text, 'hi', 'message text');
    ctx.cursor = ev.cursor;
  }],

  ['bob disconnects; alice sends "missed" meanwhile', async (ctx) => {
    await ctx.live.client.dispose();
    ctx.missed = await send(ctx.alice, ctx.bob.id, 'missed', 'c2');
  }],

  ['bob resumes after his last cursor: he gets "missed", and not "hi" again', async (ctx) => {
    ctx.resumed = subscribe(ctx.bob, ctx.cursor);
    const { ev } = await nextMessage(ctx.resumed.events);
    equal(ev.node?.id, ctx.missed, 'first message after the cursor');
    equal(ev.node?.text, 'missed', 'its text');
    check(BigInt(ev.cursor) > BigInt(ctx.cursor), `cursor ${ev.cursor} is not after ${ctx.cursor}`);
  }],

  ['alice sends "back": it is bob\'s next message, so nothing was delivered twice', async (ctx) => {
    const id = await send(ctx.alice, ctx.bob.id, 'back', 'c3');
    const { ev } = await nextMessage(ctx.resumed.events);
    equal(ev.node?.id, id, 'next message id');
    equal(ev.node?.text, 'back', 'next message text');
    await ctx.resumed.client.dispose();
  }],
]);
