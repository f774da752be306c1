// lib.mjs holds what the browser specs share: the server's address, headless
// Chromium through playwright-core with every request off this machine
// refused and recorded, a runner of named steps, and where screenshots go.
//
// browser_test.go runs each *.spec.mjs with node and these variables:
//   PARLEY_URL        the server's base URL (http://127.0.0.1:port); every
//                     spec shares that one server and its database, so a
//                     spec registers names no other spec uses
//   PARLEY_CHROMIUM   the Chromium to drive (/usr/bin/chromium)
//   PARLEY_ARTIFACTS  a folder of the spec's own for screenshots
// GET <PARLEY_URL>/test/subscriptions?atLeast=N answers once the server
// holds N subscriptions (waitSubscriptions).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

import { check, story as runStory, within } from '../story.mjs';

function required(name) {
  const v = process.env[name];
  if (!v) {
    console.error(`${name} is not set: run the specs with go test ./test/browser`);
    process.exit(2);
  }
  return v;
}

/** base is the server's base URL. */
export const base = required('PARLEY_URL');
const executablePath = required('PARLEY_CHROMIUM');
const artifacts = required('PARLEY_ARTIFACTS');

/** stepTimeout bounds one step, so that a page that never answers fails and says where. */
const stepTimeout = 30_000;

/**
 * story runs steps, [name, async (ctx) => {}] pairs, in order with one
 * shared ctx, and exits: 0 when every step passed, 1 at the first failure
 * (test/story.mjs). ctx.browser, once a step has set it (launch()), is
 * closed either way.
 */
export function story(title, steps) {
  return runStory(`${title} (${base})`, steps, {
    timeout: stepTimeout,
    after: (ctx) => ctx.browser?.close().catch(() => {}),
  });
}

export { check, within };

/** local tells whether url stays on this machine (127.0.0.1, or no network at all). */
function local(url) {
  const u = new URL(url);
  if (u.protocol === 'data:' || u.protocol === 'blob:' || u.protocol === 'about:') return true;
  return u.hostname === '127.0.0.1';
}

/**
 * launch starts headless Chromium with a fresh profile and one context in
 * which every request and WebSocket to anywhere but 127.0.0.1 is refused and
 * recorded; Chromium resolves no host name either. It returns { browser,
 * context, newPage, offline }: newPage opens a page whose script errors,
 * console errors (a Content-Security-Policy refusal is one) and sockets are
 * recorded; offline() throws if anything tried to leave the machine or any
 * page reported an error.
 */
export async function launch() {
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
    ],
  });
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const outside = [];
  const problems = [];
  const sockets = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (local(url)) return route.continue();
    outside.push(url);
    return route.abort('blockedbyclient');
  });
  await context.routeWebSocket(() => true, (ws) => {
    if (local(ws.url())) {
      ws.connectToServer(); // forwards both ways
      return;
    }
    outside.push(ws.url());
    ws.close();
  });
  async function newPage() {
    const page = await context.newPage();
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`);
    });
    page.on('websocket', (ws) => sockets.push(ws.url()));
    return page;
  }
  // The guard guards: a page that goes elsewhere is refused and recorded
  // (.invalid names no host, should the guard ever fail).
  const probe = await context.newPage();
  const refused = await probe.goto('http://guard.invalid/').then(() => false, () => true);
  await probe.close();
  check(refused && outside.length === 1 && outside[0] === 'http://guard.invalid/',
    `the request guard let a page leave the machine: ${JSON.stringify(outside)}`);
  outside.length = 0;
  function offline() {
    check(outside.length === 0, `requests off this machine: ${outside.join(', ')}`);
    check(problems.length === 0, problems.join('\n'));
  }
  return { browser, context, newPage, offline, sockets };
}

/** screenshot saves the page as PARLEY_ARTIFACTS/name.png and returns the path. */
export async function screenshot(page, name) {
  mkdirSync(artifacts, { recursive: true });
  const path = join(artifacts, `${name}.png`);
  await page.screenshot({ path });
  console.log(`  screenshot ${path}`);
  return path;
}

/** waitSubscriptions resolves once the server holds at least n subscriptions. */
export async function waitSubscriptions(n) {
  const res = await fetch(`${base}/test/subscriptions?atLeast=${n}`);
  check(res.ok, `the server does not hold ${n} subscriptions: ${res.status} ${await res.text()}`);
}
