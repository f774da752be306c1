// legacyws.mjs checks Parley's events subscription with
// subscriptions-transport-ws, the client of the legacy "graphql-ws"
// protocol that older Apollo apps still use, authenticated the way they
// usually are: connectionParams { authToken }.
//
// Usage: node legacyws.mjs http://127.0.0.1:8080

import subscriptionsTransportWs from 'subscriptions-transport-ws';
import WebSocket from 'ws';

import {
  Events, check, equal, eventsSubscription, nextMessage, register, send, story, waitSubscriptions, wsURL,
} from './lib.mjs';

const { SubscriptionClient } = subscriptionsTransportWs; // a CommonJS package

await story('subscriptions-transport-ws: live events', [
  ['register alice and bob over HTTP', async (ctx) => {
    ctx.alice = await register('alice');
    ctx.bob = await register('bob');
  }],

  ['bob subscribes to his events with the legacy protocol', async (ctx) => {
    ctx.client = new SubscriptionClient(wsURL, { connectionParams: { authToken: ctx.bob.token } }, WebSocket);
    ctx.events = new Events();
    ctx.client.request({ query: eventsSubscription }).subscribe(ctx.events.observer);
    await waitSubscriptions(1);
  }],

  ['alice sends "hi": bob receives MEMBER_JOINED, then MESSAGE_CREATED', async (ctx) => {
    const id = await send(ctx.alice, ctx.bob.id, 'hi', 'c1');
    const { ev, skipped } = await nextMessage(ctx.events);
    check(skipped.includes('MEMBER_JOINED'), `expected MEMBER_JOINED before the message, got ${skipped}`);
    equal(ev.node?.id, id, 'message id');
    equal(ev.node?.text, 'hi', 'message text');
  }],

  ['bob closes the connection', async (ctx) => {
    ctx.client.close();
  }],
]);
