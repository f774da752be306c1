// audit.mjs runs graphql-http's GraphQL-over-HTTP conformance audit against
// Parley's /query and prints every result. It exits 1 unless there is no
// error (a failed MUST) and no warning (a failed SHOULD); notices (failed
// MAYs) are printed but allowed.
//
// Usage: node audit.mjs http://127.0.0.1:8080

import { serverAudits } from 'graphql-http';

const base = process.argv[2];
if (!base) {
  console.error('usage: node audit.mjs <server base URL>');
  process.exit(2);
}

const results = await Promise.all(
  serverAudits({ url: `${base}/query` }).map((audit) => audit.fn()),
);

const count = { ok: 0, notice: 0, warn: 0, error: 0 };
for (const r of results) {
  count[r.status]++;
  if (r.status === 'ok') {
    console.log(`ok      ${r.id} ${r.name}`);
    continue;
  }
  const body = await r.response.text().catch(() => '');
  console.log(`${r.status.padEnd(7)} ${r.id} ${r.name}`);
  console.log(`        ${r.reason}: ${r.response.status} ${r.response.headers.get('content-type')} ${body.slice(0, 300)}`);
}

console.log(`\n${results.length} audits: ${count.ok} ok, ${count.notice} notices, ${count.warn} warnings, ${count.error} errors`);
if (count.error > 0 || count.warn > 0) {
  process.exit(1);
}
