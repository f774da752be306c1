// The Apollo Client of the app: how it signs requests, refreshes tokens,
// reaches the server over HTTP (with uploads) and WebSocket, and caches.
import {
  ApolloClient, ApolloLink, CombinedGraphQLErrors, InMemoryCache, ServerError,
  type ErrorLike,
} from '@apollo/client';
import { SetContextLink } from '@apollo/client/link/context';
import { ErrorLink } from '@apollo/client/link/error';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { relayStylePagination } from '@apollo/client/utilities';
import UploadHttpLink from 'apollo-upload-client/UploadHttpLink.mjs';
import { createClient } from 'graphql-ws';
import { useSyncExternalStore } from 'react';
import { from, switchMap, throwError } from 'rxjs';

import { httpURL, wsURL } from './api';
import { RefreshTokenDocument } from './operations';
import { getSession, setSession } from './session';

// Operations sent without a token: the server answers ALREADY_SIGNED_IN to
// a login that carries a valid one, and an expired access token would make
// refreshToken fail with 401 before it runs.
const anonymous = new Set(['Login', 'Register', 'RefreshToken']);

let refreshing: Promise<string | null> | null = null;

/**
 * refresh trades the refresh token for a new pair, once at a time: every
 * request that finds the token expired waits for the same refresh (each
 * refresh token works only once). It resolves to the new access token, or
 * to null after signing out when the refresh failed.
 */
function refresh(): Promise<string | null> {
  refreshing ??= (async () => {
    const session = getSession();
    if (!session) return null;
    try {
      const { data } = await client.mutate({
        mutation: RefreshTokenDocument,
        variables: { refreshToken: session.refreshToken },
      });
      setSession(data!.refreshToken);
      return data!.refreshToken.accessToken;
    } catch {
      signOut();
      return null;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

/** accessToken returns a token that has not expired, refreshing it if it has. */
async function accessToken(): Promise<string | null> {
  const session = getSession();
  if (!session) return null;
  if (Date.parse(session.expiresAt) <= Date.now()) return refresh();
  return session.accessToken;
}

/** signOut forgets the session and everything cached for it. */
export function signOut(): void {
  setSession(null);
  void client.clearStore();
}

// The auth link puts the bearer token on every HTTP request but the
// anonymous ones.
const authLink = new SetContextLink(async (prevContext, operation) => {
  if (anonymous.has(operation.operationName ?? '')) return {};
  const token = await accessToken();
  if (!token) return {};
  return { headers: { ...prevContext.headers, authorization: `Bearer ${token}` } };
});

/**
 * reasonOf returns the extensions.reason of a failed request: of its first
 * GraphQL error, or of the 401 the server sends before GraphQL runs when the
 * bearer token is bad (its body has the same errors shape).
 */
function reasonOf(error: ErrorLike): string | undefined {
  if (CombinedGraphQLErrors.is(error)) {
    return error.errors[0]?.extensions?.reason as string | undefined;
  }
  if (ServerError.is(error) && error.statusCode === 401) {
    try {
      return JSON.parse(error.bodyText).errors?.[0]?.extensions?.reason;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

// The error link retries, once, a request refused because its token expired
// (our clock may disagree with the server's), after a refresh; a session the
// server ended (SIGNED_OUT, ACCOUNT_DISABLED, TOKEN_INVALID) signs out.
const errorLink = new ErrorLink(({ error, operation, forward }) => {
  if (anonymous.has(operation.operationName ?? '')) return;
  const reason = reasonOf(error);
  if (reason === 'TOKEN_EXPIRED' && !operation.getContext().retried) {
    operation.setContext({ retried: true });
    return from(refresh()).pipe(
      switchMap((token) => (token ? forward(operation) : throwError(() => error))),
    );
  }
  if (ServerError.is(error) && error.statusCode === 401) signOut();
});

// Queries, mutations and uploads go over HTTP. UploadHttpLink sends an
// operation with File variables as a GraphQL multipart request and any
// other as plain JSON; the server accepts multipart requests only with the
// Apollo-Require-Preflight header (its CSRF guard).
const httpLink = new UploadHttpLink({
  uri: httpURL,
  headers: { 'Apollo-Require-Preflight': 'true' },
});

// Subscriptions go over one graphql-ws connection, opened while at least
// one subscription runs. Its token is read at each (re)connection. The
// server closes a connection whose token it refuses with 4403 and the
// reason: an expired token is refreshed before the next try, any other
// refusal signs out.
let socketToken: string | null = null;
let live = false;
const liveListeners = new Set<() => void>();
function setLive(v: boolean) {
  live = v;
  liveListeners.forEach((l) => l());
}

const ws = createClient({
  url: wsURL,
  connectionParams: async () => {
    socketToken = await accessToken();
    return socketToken ? { Authorization: `Bearer ${socketToken}` } : {};
  },
  shouldRetry: (e) => !(isCloseEvent(e) && e.code === 4403 && e.reason !== 'TOKEN_EXPIRED'),
  on: {
    connected: () => setLive(true),
    closed: (e) => {
      setLive(false);
      if (!isCloseEvent(e) || e.code !== 4403) return;
      const session = getSession();
      if (e.reason !== 'TOKEN_EXPIRED') signOut();
      else if (session && session.accessToken === socketToken) {
        setSession({ ...session, expiresAt: new Date(0).toISOString() }); // refresh on the retry
      }
    },
  },
});

function isCloseEvent(e: unknown): e is CloseEvent {
  return typeof e === 'object' && e !== null && 'code' in e && 'reason' in e;
}

/** useLive tells whether the subscription connection is up. */
export function useLive(): boolean {
  return useSyncExternalStore((l) => {
    liveListeners.add(l);
    return () => liveListeners.delete(l);
  }, () => live);
}

const link = ApolloLink.split(
  (operation) => operation.operationType === 'subscription',
  new GraphQLWsLink(ws),
  ApolloLink.from([errorLink, authLink, httpLink]),
);

// The cache normalizes by __typename and id (every Parley object has a
// global id). Paged lists are Relay connections: relayStylePagination merges
// the pages of one list, here one per conversation, so fetchMore with
// `before` prepends older messages.
const cache = new InMemoryCache({
  typePolicies: {
    Query: {
      fields: {
        messages: relayStylePagination(['conversationId']),
        conversations: relayStylePagination(['state']),
      },
    },
  },
});

export const client = new ApolloClient({ link, cache });
