// webapp.mjs runs the README's web-app client (the js block between the
// web-app-client comments of README.md) as it stands, against the server:
// a stale token in storage does not keep anyone from registering, an
// expired access token is refreshed and the request retried over HTTP, a
// socket refused with 4403 TOKEN_EXPIRED refreshes and reconnects, and an
// invalid token is a GraphQL error that signs the user out.
import crypto from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

import { base, check, equal, story } from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const readme = readFileSync(join(here, '..', '..', 'README.md'), 'utf8');
const block = readme.match(/<!-- web-app-client -->\s*```js\n([\s\S]*?)```\s*<!-- \/web-app-client -->/);
check(block, 'README.md has no web-app-client block');
check(block[1].includes("'http://localhost:8080/graphql'"), 'the block talks to http://localhost:8080/graphql');

// The test server's JWT secret (server/apptest.JWTSecret), to forge an
// expired access token of a real session.
const secret = 'test-secret-test-secret-test-secret!';
const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
function expiredToken(accessToken) {
  const { sub, sid } = JSON.parse(Buffer.from(accessToken.split('.')[1], 'base64url'));
  const now = Math.floor(Date.now() / 1000);
  const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub, sid, typ: 'access', iat: now - 7200, exp: now - 3600 })}`;
  return `${body}.${crypto.createHmac('sha256', secret).update(body).digest('base64url')}`;
}

// What a browser has: localStorage (holding a stale session) and WebSocket.
const prelude = join(here, `.webapp-prelude-${process.pid}.gen.mjs`);
writeFileSync(prelude, `
import WebSocket from 'ws';
const store = new Map([['session', JSON.stringify({ accessToken: 'stale.stale.stale', refreshToken: 'stale' })]]);
globalThis.localStorage = { getItem: (k) => store.get(k) ?? null, setItem: (k, v) => store.set(k, v), removeItem: (k) => store.delete(k) };
globalThis.WebSocket = WebSocket;
`);
// The block, on the test server, with a window on its state for the checks.
const module = join(here, `.webapp-${process.pid}.gen.mjs`);
writeFileSync(module, `import './.webapp-prelude-${process.pid}.gen.mjs';\n` +
  block[1].replaceAll('http://localhost:8080', base) +
  '\nexport const app = { get session() { return session; }, save, ws };\n');
const { client, app } = await import(module);
rmSync(module);
rmSync(prelude);
const { CombinedGraphQLErrors, gql } = await import('@apollo/client');

const ME = gql`query Me { me { id username } }`;

await story("the README's web-app client (Apollo Client, graphql-ws)", [
  ['register with a stale token in storage', async (ctx) => {
    const { data } = await client.mutate({
      mutation: gql`mutation Register($in: RegisterInput!) { register(input: $in) { accessToken refreshToken user { id } } }`,
      variables: { in: { username: 'webapp', password: 'password1' } },
    });
    app.save({ accessToken: data.register.accessToken, refreshToken: data.register.refreshToken });
    ctx.id = data.register.user.id;
    const { data: me } = await client.query({ query: ME, fetchPolicy: 'network-only' });
    equal(me.me.id, ctx.id, 'me.id');
  }],

  ['an expired access token is refreshed, and the query retried', async (ctx) => {
    const before = app.session.refreshToken;
    app.save({ ...app.session, accessToken: expiredToken(app.session.accessToken) });
    const { data } = await client.query({ query: ME, fetchPolicy: 'network-only' });
    equal(data.me.id, ctx.id, 'me.id after the refresh');
    check(app.session.refreshToken !== before, 'a new refresh token was kept');
  }],

  ['a socket refused with TOKEN_EXPIRED refreshes, then connects', async () => {
    const before = app.session.refreshToken;
    app.save({ ...app.session, accessToken: expiredToken(app.session.accessToken) });
    await new Promise((resolve, reject) => {
      const off = app.ws.on('connected', () => { off(); sub.unsubscribe(); resolve(); });
      const sub = client.subscribe({ query: gql`subscription { events { cursor } }` }).subscribe({ error: reject });
    });
    check(app.session.refreshToken !== before, 'refreshed before reconnecting');
  }],

  ['an invalid token is a GraphQL error that signs out', async () => {
    app.save({ ...app.session, accessToken: 'not.a.token' });
    try {
      await client.query({ query: ME, fetchPolicy: 'network-only' });
      throw new Error('the query succeeded');
    } catch (err) {
      check(CombinedGraphQLErrors.is(err), `expected GraphQL errors, got ${err}`);
      equal(err.errors[0].extensions.reason, 'TOKEN_INVALID', 'reason');
    }
    equal(app.session, null, 'session after TOKEN_INVALID');
    await app.ws.dispose();
  }],
]);
