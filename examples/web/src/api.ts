// The server's addresses, taken at run time: ?api=http://127.0.0.1:8080
// names the server, and without it the app talks to /query on its own
// origin (as behind a reverse proxy, or Vite's dev proxy).
const api = new URLSearchParams(window.location.search).get('api');

/** httpURL is the GraphQL endpoint for queries, mutations and uploads. */
export const httpURL = new URL('/query', api ?? window.location.origin).href;

/** wsURL is the same endpoint for subscriptions, over graphql-ws. */
export const wsURL = httpURL.replace(/^http/, 'ws');

/** fileURL resolves a File's url, a path on the API server, to a full URL. */
export function fileURL(path: string): string {
  return new URL(path, httpURL).href;
}
