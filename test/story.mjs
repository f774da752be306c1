// story.mjs is the runner every script under test/ is written with (the
// client scripts of test/clients, the browser specs of test/browser): named
// steps run in order, each printed with its time, the first failure named
// and the process ended with its status, so that adding a check means
// adding a step.

/**
 * story runs steps, a list of [name, async (ctx) => {}] pairs, in order with
 * one shared ctx object, each within timeout ms, and exits the process: 0
 * when every step passed, 1 at the first failure. after(ctx) runs first
 * either way (to close a browser); the exit also ends open sockets, which
 * would otherwise keep node alive.
 */
export async function story(title, steps, { timeout, after = async () => {} }) {
  console.log(title);
  const ctx = {};
  let code = 0;
  for (const [name, run] of steps) {
    const started = Date.now();
    try {
      await within(timeout, `step "${name}"`, run(ctx));
    } catch (err) {
      console.log(`  FAIL ${name}: ${err?.stack ?? err}`);
      code = 1;
      break;
    }
    console.log(`  ok   ${name} (${Date.now() - started} ms)`);
  }
  await after(ctx);
  process.exit(code);
}

/** check throws message unless cond holds. */
export function check(cond, message) {
  if (!cond) throw new Error(message);
}

/** within resolves like promise, or rejects once ms have passed. */
export function within(ms, what, promise) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
