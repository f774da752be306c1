// playground.spec.mjs: the playground at / works with no network but the
// server's, as a newcomer uses it: the README's tabs are there, a mutation
// and a query run with the token put in the Headers panel, a subscription
// in a second browser tab receives an event over the WebSocket that the
// Headers panel signed in, a bad token's refusal shows at once, and after a
// reload no token is left in the page or its storage.
import { check, launch, screenshot, story, waitSubscriptions, base } from './lib.mjs';

/**
 * tab brings page to the front (a background page's timers are slowed
 * down), makes the GraphiQL tab of that title the active one, and waits
 * until GraphiQL has read its query (100 ms after the editor changes): a
 * run before that would send the previous tab's operation name.
 */
async function tab(page, title) {
  await page.bringToFront();
  const exact = new RegExp(`^${title}$`);
  await page.locator('.graphiql-tab-button', { hasText: exact }).click();
  await page.locator('.graphiql-tab-active .graphiql-tab-button', { hasText: exact }).waitFor();
  await page.waitForFunction((title) => {
    return document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.operationName === title;
  }, title);
}

/** headers types json into the Headers panel, in place of what it held. */
async function headers(page, json) {
  await page.bringToFront();
  await page.locator('.graphiql-editor-tools button', { hasText: /^Headers$/ }).click();
  const editor = page.locator('.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror');
  await editor.click();
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.press('Backspace');
  if (json) await page.keyboard.insertText(json);
}

/** headersText is what the Headers panel holds. */
function headersText(page) {
  return page.evaluate(() => {
    const el = document.querySelector('.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror');
    return el.CodeMirror.getValue();
  });
}

/** editQuery rewrites the query editor's text with change. */
async function editQuery(page, from, to) {
  await page.evaluate(([from, to]) => {
    const cm = document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror;
    cm.setValue(cm.getValue().replace(from, to));
  }, [from, to]);
}

/** run presses the run button. */
async function run(page) {
  await page.bringToFront();
  await page.locator('.graphiql-execute-button').click();
}

/**
 * result waits until the result pane shows text containing marker, and
 * returns it parsed.
 */
async function result(page, marker) {
  const pane = () => {
    const cm = document.querySelector('.graphiql-response .CodeMirror')?.CodeMirror;
    return cm ? cm.getValue() : '';
  };
  let text;
  try {
    text = await page.waitForFunction((marker) => {
      const cm = document.querySelector('.graphiql-response .CodeMirror')?.CodeMirror;
      const v = cm ? cm.getValue() : '';
      return v.includes(marker) ? v : false;
    }, marker, { timeout: 20_000 });
  } catch (err) {
    throw new Error(`the result pane never showed ${marker}; it shows: ${await page.evaluate(pane)}`, { cause: err });
  }
  const value = await text.jsonValue();
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

/** ok returns the data of a response with no errors. */
function ok(response) {
  check(typeof response === 'object' && !response.errors, `errors: ${JSON.stringify(response)}`);
  return response.data;
}

async function open(ctx) {
  const page = await ctx.b.newPage();
  await page.goto(`${base}/`);
  await page.locator('.graphiql-tab').first().waitFor();
  return page;
}

/** tabs are the titles of the README's examples, the playground's tabs. */
const tabs = ['Register', 'Login', 'Me', 'SendMessage', 'Events'];

await story('the playground, offline', [
  ['open / in Chromium with every request off 127.0.0.1 refused', async (ctx) => {
    ctx.b = await launch();
    ctx.browser = ctx.b.browser;
    ctx.alice = await open(ctx);
    const titles = await ctx.alice.locator('.graphiql-tab-button').allInnerTexts();
    check(JSON.stringify(titles) === JSON.stringify(tabs), `tabs: ${JSON.stringify(titles)}`);
    ctx.b.offline();
  }],
  ['Register tab: alice and bob', async (ctx) => {
    await tab(ctx.alice, 'Register');
    await run(ctx.alice);
    const data = ok(await result(ctx.alice, '"bob"'));
    ctx.bob = { id: data.bob.user.id, token: data.bob.accessToken };
    check(ctx.bob.token, 'bob has no access token');
  }],
  ['Login tab: alice signs in by phone', async (ctx) => {
    await tab(ctx.alice, 'Login');
    await run(ctx.alice);
    ctx.aliceToken = ok(await result(ctx.alice, '"login"')).login.accessToken;
    check(ctx.aliceToken, 'no access token');
  }],
  ['Me tab: the query runs as alice with her token in the Headers panel', async (ctx) => {
    await tab(ctx.alice, 'Me');
    await headers(ctx.alice, `{"Authorization": "Bearer ${ctx.aliceToken}"}`);
    await run(ctx.alice);
    const me = ok(await result(ctx.alice, '"publicID"')).me;
    check(me.username === 'alice' && me.phone === '+8613800000001', `me: ${JSON.stringify(me)}`);
    await screenshot(ctx.alice, 'playground-query');
  }],
  ['a second browser tab, Events tab: bob subscribes with his token in the Headers panel', async (ctx) => {
    ctx.bobPage = await open(ctx);
    await tab(ctx.bobPage, 'Events');
    await headers(ctx.bobPage, `{"Authorization": "Bearer ${ctx.bob.token}"}`);
    await run(ctx.bobPage);
    await waitSubscriptions(1);
  }],
  ['SendMessage tab: alice sends bob a message', async (ctx) => {
    await tab(ctx.alice, 'SendMessage');
    await headers(ctx.alice, `{"Authorization": "Bearer ${ctx.aliceToken}"}`);
    await editQuery(ctx.alice, "<bob's id>", ctx.bob.id);
    await run(ctx.alice);
    const sent = ok(await result(ctx.alice, '"sendMessage"')).sendMessage;
    check(sent.text === 'Hello Bob', `sent: ${JSON.stringify(sent)}`);
  }],
  ['the message arrives in bob\'s result pane, over a socket to this server', async (ctx) => {
    const event = ok(await result(ctx.bobPage, 'MESSAGE_CREATED')).events;
    check(event.node.text === 'Hello Bob' && event.node.sender.username === 'alice', `event: ${JSON.stringify(event)}`);
    await screenshot(ctx.bobPage, 'playground-subscription');
    const want = `${base.replace(/^http/, 'ws')}/query`;
    check(ctx.b.sockets.length > 0 && ctx.b.sockets.every((url) => url === want),
      `sockets: ${JSON.stringify(ctx.b.sockets)}, want each ${want}`);
  }],
  ['a bad token on the socket: the refusal shows at once', async (ctx) => {
    await run(ctx.bobPage); // stops the running subscription
    await ctx.bobPage.locator('.graphiql-execute-button[aria-label="Execute query (Ctrl-Enter)"]').waitFor();
    await headers(ctx.bobPage, '{"Authorization": "Bearer not-a-token"}');
    await run(ctx.bobPage);
    const refusal = await result(ctx.bobPage, '4403');
    check(JSON.stringify(refusal).includes('TOKEN_INVALID'), `refusal: ${JSON.stringify(refusal)}`);
  }],
  ['after a reload, the tabs are back and no token is in the Headers panel or the page\'s storage', async (ctx) => {
    // Both browser tabs store their GraphiQL tabs in the same place, the
    // last to change winning: close bob's, and let alice's store hers.
    await ctx.bobPage.close();
    await tab(ctx.alice, 'Me');
    await ctx.alice.waitForFunction(() => JSON.parse(localStorage.getItem('graphiql:tabState') || '{}').activeTabIndex === 2);
    await ctx.alice.reload();
    await ctx.alice.locator('.graphiql-tab').first().waitFor();
    const titles = await ctx.alice.locator('.graphiql-tab-button').allInnerTexts();
    check(JSON.stringify(titles) === JSON.stringify(tabs), `tabs: ${JSON.stringify(titles)}`);
    await tab(ctx.alice, 'SendMessage');
    const query = await ctx.alice.evaluate(() => document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.getValue());
    check(query.includes(ctx.bob.id), `the SendMessage tab lost its edit: ${query}`);
    await tab(ctx.alice, 'Me');
    const held = await headersText(ctx.alice);
    check(held === '', `the Headers panel holds ${JSON.stringify(held)}`);
    const stored = await ctx.alice.evaluate(() => JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage } }));
    check(stored.includes('query Me'), 'GraphiQL stored no tabs or history: the check below would prove nothing');
    for (const token of [ctx.aliceToken, ctx.bob.token, 'not-a-token']) {
      check(!stored.includes(token), `storage holds ${token.slice(0, 12)}…: ${stored.slice(0, 500)}`);
    }
  }],
  ['nothing tried to leave the machine, and no page reported an error', async (ctx) => {
    ctx.b.offline();
  }],
]);
