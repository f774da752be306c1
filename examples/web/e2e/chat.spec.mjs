// chat.spec.mjs drives the web example in headless Chromium against a real
// Parley server: user A signs in in the browser and chats with user B, whom
// this script plays over the API.
//
// Environment:
//   APP_URL    the built app, with ?api=<server> when it is served elsewhere
//   API_URL    the Parley server's base URL (http://127.0.0.1:PORT)
//   USER_A, USER_B, PASSWORD   two friends' accounts (one password)
//   WAIT_SUBSCRIPTIONS_URL     optional: answers ?atLeast=N once the server
//              holds N subscriptions (a client cannot see when its
//              subscription is registered, and a live-only one misses what
//              commits before)
//   SCREENSHOT where to save a screenshot of the end (optional)
//   CHROMIUM   the browser (default /usr/bin/chromium)
//
// The token refresh step needs access tokens that expire within 30 s
// (the server's AccessTTL); with longer ones it is skipped.
import { Buffer } from 'node:buffer';
import { crc32, deflateSync } from 'node:zlib';
import { chromium } from 'playwright-core';

const env = (name, fallback) => {
  const v = process.env[name] ?? fallback;
  if (v === undefined) throw new Error(`${name} is not set`);
  return v;
};
const appURL = env('APP_URL');
const apiURL = new URL('/query', env('API_URL')).href;
const [userA, userB, password] = [env('USER_A'), env('USER_B'), env('PASSWORD')];
const historySize = 45; // more than two pages of the app's 20

// --- B, over the API -------------------------------------------------------

async function gql(query, variables = {}, token = '') {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(apiURL, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  const body = await res.json();
  if (body.errors?.length) throw new Error(`${res.status} ${JSON.stringify(body.errors)}`);
  return body.data;
}

let bobSession = null;
/** bob returns B's access token, signing in again once it has expired. */
async function bob() {
  if (!bobSession || Date.parse(bobSession.expiresAt) - 1000 < Date.now()) {
    const { login } = await gql(
      `mutation($in: LoginInput!) { login(input: $in) { accessToken expiresAt user { id } } }`,
      { in: { login: userB, password } });
    bobSession = login;
  }
  return bobSession.accessToken;
}

async function idOf(username) {
  const { user } = await gql(`query($u: String) { user(username: $u) { id } }`, { u: username }, await bob());
  return user.id;
}

async function bobSends(to, text) {
  await gql(`mutation($in: SendInput!) { send(input: $in) { id } }`, { in: { to, text } }, await bob());
}

/** bobReads returns the texts of the last messages B sees from A. */
async function bobReads(aId) {
  const { directConversation: c } = await gql(
    `query($u: ID!) { directConversation(userId: $u) { messages(last: 10) { edges { node { text } } } } }`,
    { u: aId }, await bob());
  return c.messages.edges.map((e) => e.node.text);
}

// --- checks --------------------------------------------------------------

function check(cond, message) {
  if (!cond) throw new Error(message);
}

async function step(name, run) {
  const started = Date.now();
  try {
    await run();
  } catch (err) {
    console.log(`  FAIL ${name}: ${err?.stack ?? err}`);
    throw err;
  }
  console.log(`  ok   ${name} (${Date.now() - started} ms)`);
}

/** png returns a size×size PNG in two colours, to upload. */
function png(size) {
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const rows = [];
  for (let y = 0; y < size; y++) {
    rows.push(0); // no filter
    for (let x = 0; x < size; x++) rows.push(...((x + y) % 8 < 4 ? [40, 120, 220] : [250, 200, 40]));
  }
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk('IHDR', header), chunk('IDAT', deflateSync(Buffer.from(rows))), chunk('IEND', Buffer.alloc(0)),
  ]);
}

function jwtExpiry(token) {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).exp * 1000;
}

// --- the story -------------------------------------------------------------

const browser = await chromium.launch({
  executablePath: env('CHROMIUM', '/usr/bin/chromium'),
  args: [
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    // No name resolves but loopback ones, WebSockets included.
    '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
  ],
});
let failed = false;
try {
  const context = await browser.newContext({ viewport: { width: 1000, height: 700 } });
  const blocked = [];
  await context.route('**/*', (route) => {
    const { hostname } = new URL(route.request().url());
    if (['127.0.0.1', 'localhost', '[::1]'].includes(hostname)) return route.continue();
    blocked.push(route.request().url());
    return route.abort();
  });
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (err) => pageErrors.push(err));
  page.on('console', (m) => m.type() === 'error' && console.log(`    console: ${m.text()}`));
  const refreshes = [];
  const expired = [];
  page.on('request', (r) => r.postData()?.includes('"operationName":"RefreshToken"') && refreshes.push(r.url()));
  page.on('response', async (r) => {
    if (r.status() === 401) expired.push(await r.text().catch(() => ''));
  });

  const messages = page.locator('.history li');
  const friend = page.locator('.contacts li button', { hasText: userB }).last();
  const aId = await idOf(userA);

  console.log(`web example: ${appURL}`);

  await step(`B sends A ${historySize} messages`, async () => {
    for (let i = 1; i <= historySize; i++) await bobSends(aId, `history ${i}`);
  });

  await step('A signs in', async () => {
    await page.goto(appURL);
    await page.fill('input[name=username]', userA);
    await page.fill('input[name=password]', password);
    await page.click('button[value=login]');
    await page.locator('header', { hasText: `Signed in as ${userA}` }).waitFor();
  });

  await step('A opens the conversation with B: the last page of history', async () => {
    await friend.click();
    await page.locator(`.history li[data-seq="${historySize}"]`).waitFor();
    check(await messages.count() === 20, `first page: ${await messages.count()} messages, want 20`);
  });

  await step('A loads older messages until the beginning', async () => {
    const older = page.getByRole('button', { name: 'Load older' });
    let pages = 1;
    while (await older.isVisible()) {
      const before = await messages.count();
      await older.click();
      await page.waitForFunction((n) => document.querySelectorAll('.history li').length > n, before);
      pages++;
    }
    const seqs = await messages.evaluateAll((lis) => lis.map((li) => Number(li.dataset.seq)));
    check(JSON.stringify(seqs) === JSON.stringify(Array.from({ length: historySize }, (_, i) => i + 1)),
      `history seqs: ${seqs}`);
    check(pages === 3, `${pages} pages, want 3`);
  });

  await step('B writes; the message appears live on A\'s page', async () => {
    await page.locator('.live[data-live="true"]').waitFor();
    if (process.env.WAIT_SUBSCRIPTIONS_URL) {
      const res = await fetch(`${process.env.WAIT_SUBSCRIPTIONS_URL}?atLeast=1`);
      check(res.ok, `subscriptions: ${res.status} ${await res.text()}`);
    }
    await bobSends(aId, 'live from B');
    await page.locator('.history li', { hasText: 'live from B' }).waitFor();
  });

  await step('A sends a message from the page; B receives it', async () => {
    await page.fill('input[name=text]', 'hello from A');
    await page.click('button:text("Send")');
    await page.locator('.history li.mine', { hasText: 'hello from A' }).waitFor();
    const texts = await bobReads(aId);
    check(texts.includes('hello from A'), `B's last messages: ${texts}`);
  });

  await step('A uploads a picture; it appears in the conversation', async () => {
    await page.setInputFiles('input[type=file]', { name: 'pattern.png', mimeType: 'image/png', buffer: png(48) });
    const img = page.locator('.history img[alt="pattern.png"]');
    await img.waitFor();
    await page.waitForFunction(() => document.querySelector('.history img[alt="pattern.png"]')?.naturalWidth === 48);
  });

  await step('an expired access token is refreshed and the request retried', async () => {
    const session = await page.evaluate(() => JSON.parse(localStorage.getItem('parley.session')));
    const expiry = jwtExpiry(session.accessToken);
    if (expiry - Date.now() > 30_000) {
      console.log('    (skipped: access tokens live longer than 30 s on this server)');
      return;
    }
    // The app would refresh before sending a token it knows has expired;
    // make it believe the token is good, so the server is the one to refuse.
    await page.evaluate((s) => localStorage.setItem('parley.session', JSON.stringify(s)),
      { ...session, expiresAt: new Date(Date.now() + 3_600_000).toISOString() });
    await page.waitForTimeout(Math.max(0, expiry + 1_000 - Date.now())); // until the token has expired
    refreshes.length = 0;
    expired.length = 0;
    await page.reload();
    await friend.click();
    await page.locator('.history li', { hasText: 'hello from A' }).waitFor();
    check(expired.some((body) => body.includes('TOKEN_EXPIRED')), `401s: ${expired}`);
    check(refreshes.length >= 1, 'no refreshToken request after the 401');
    await page.fill('input[name=text]', 'after the refresh');
    await page.click('button:text("Send")');
    await page.locator('.history li.mine', { hasText: 'after the refresh' }).waitFor();
    check((await bobReads(aId)).includes('after the refresh'), 'B did not get the message sent after the refresh');
    // The socket, refused with the expired token, is back with the new one.
    await page.locator('.live[data-live="true"]').waitFor();
  });

  if (process.env.SCREENSHOT) {
    await page.locator('.history img[alt="pattern.png"]').scrollIntoViewIfNeeded();
    await page.screenshot({ path: process.env.SCREENSHOT });
    console.log(`  screenshot: ${process.env.SCREENSHOT}`);
  }

  await step('A signs out; a newcomer registers from the page and writes to a new friend first', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    const newcomer = `newcomer_${Date.now().toString(36)}`;
    await page.fill('input[name=username]', newcomer);
    await page.fill('input[name=password]', password);
    await page.click('button[value=register]');
    await page.locator('header', { hasText: `Signed in as ${newcomer}` }).waitFor();
    await page.locator('.live[data-live="true"]').waitFor();
    check(await page.locator('.contacts li').count() === 0, 'a newcomer has no contacts');

    // B and the newcomer become friends over the API; the newcomer writes
    // first, from the page, which opens their conversation.
    const { login: n } = await gql(
      `mutation($in: LoginInput!) { login(input: $in) { accessToken user { id } } }`,
      { in: { login: newcomer, password } });
    const { applyFriend } = await gql(`mutation($u: ID!) { applyFriend(input: {userId: $u}) { id } }`,
      { u: await idOf(userB) }, n.accessToken);
    await gql(`mutation($id: ID!) { acceptFriendApplication(id: $id) { id } }`, { id: applyFriend.id }, await bob());
    await page.reload();
    await friend.click();
    await page.locator('.conversation', { hasText: 'No messages yet' }).waitFor();
    await page.fill('input[name=text]', 'nice to meet you');
    await page.click('button:text("Send")');
    await page.locator('.history li.mine', { hasText: 'nice to meet you' }).waitFor();
    check((await bobReads(n.user.id)).includes('nice to meet you'), 'B did not get the first message');
  });

  await step('the page made no request off the machine and threw nothing', async () => {
    check(blocked.length === 0, `blocked requests: ${blocked}`);
    check(pageErrors.length === 0, `page errors: ${pageErrors}`);
  });
} catch {
  failed = true;
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
