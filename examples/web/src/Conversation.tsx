import type { ApolloCache } from '@apollo/client';
import { useMutation, useQuery } from '@apollo/client/react';
import { type FormEvent, useEffect, useRef, useState } from 'react';

import { fileURL } from './api';
import type { Target } from './Contacts';
import type { MessageFieldsFragment } from './gql/graphql';
import {
  DirectConversationDocument, MessagesDocument, SendDocument, UploadFileDocument,
} from './operations';

/** pageSize is how many messages one page of history holds. */
export const pageSize = 20;

/**
 * addMessage appends a new message to its conversation's history in the
 * cache, if that history is loaded (otherwise opening it fetches it). It is
 * idempotent, as the sender gets his message twice: from send and from his
 * events. A message the history already covers (an older one revoked, say)
 * is not appended: the cache has already updated it by id.
 */
export function addMessage(cache: ApolloCache, message: MessageFieldsFragment) {
  cache.updateQuery(
    { query: MessagesDocument, variables: { conversationId: message.conversation.id, last: pageSize } },
    (data) => {
      const edges = data?.messages.edges;
      if (!data || !edges) return undefined;
      const newest = edges[edges.length - 1]?.node;
      if (newest && newest.seq >= message.seq) return undefined;
      // Without `before` or `after`, relayStylePagination takes these edges
      // as the whole list: the old ones and the new one.
      return {
        messages: {
          ...data.messages,
          edges: [...edges, { __typename: 'MessageEdge' as const, cursor: '', node: message }],
        },
      };
    },
  );
}

/** Conversation shows one conversation: its history, live, and a composer. */
export function Conversation({ target }: { target: Target }) {
  // A friend's entry names the friend; his conversation with me, if any, is
  // looked up (it exists once either of us sent a message).
  const direct = useQuery(DirectConversationDocument, {
    variables: { userId: target.peerId ?? '' },
    skip: !target.peerId || !!target.conversationId,
  });
  const conversationId = target.conversationId ?? direct.data?.directConversation?.id;
  return (
    <main className="conversation">
      <h2>{target.title}</h2>
      {conversationId ? <History conversationId={conversationId} /> : <p className="empty">No messages yet</p>}
      <Composer conversationId={conversationId} peerId={target.peerId}
        onFirstMessage={() => void direct.refetch()} />
    </main>
  );
}

function History({ conversationId }: { conversationId: string }) {
  const { data, error, fetchMore } = useQuery(MessagesDocument, {
    variables: { conversationId, last: pageSize },
  });
  const [loadingOlder, setLoadingOlder] = useState(false);
  // Keep the newest message in view when one arrives (not when older ones
  // are prepended).
  const list = useRef<HTMLDivElement>(null);
  const edges = data?.messages.edges;
  const newest = edges?.[edges.length - 1]?.node?.id;
  useEffect(() => {
    list.current?.scrollTo({ top: list.current.scrollHeight });
  }, [newest]);
  if (error) return <p className="error">{error.message}</p>;
  if (!data) return <p className="empty">Loading…</p>;
  const { pageInfo } = data.messages;

  async function loadOlder() {
    setLoadingOlder(true);
    try {
      await fetchMore({ variables: { before: pageInfo.startCursor } });
    } finally {
      setLoadingOlder(false);
    }
  }

  return (
    <div className="history" ref={list}>
      {pageInfo.hasPreviousPage && (
        <button className="older" disabled={loadingOlder} onClick={() => void loadOlder()}>Load older</button>
      )}
      <ol>
        {edges?.map((e) => e?.node && <MessageItem key={e.node.id} message={e.node} />)}
      </ol>
    </div>
  );
}

function MessageItem({ message: m }: { message: MessageFieldsFragment }) {
  return (
    <li className={m.mine ? 'mine' : ''} data-seq={m.seq}>
      <b>{m.sender?.username ?? 'system'}</b>{' '}
      {m.revokedAt ? <i>(revoked)</i> : m.parts.map((p, i) => {
        if (p.category === 'image' && p.url) return <img key={i} src={fileURL(p.url)} alt={p.name ?? ''} />;
        if (p.url) return <a key={i} href={fileURL(p.url)} target="_blank" rel="noreferrer">{p.name ?? p.url}</a>;
        return null;
      })}
      {!m.revokedAt && m.text && <span className="text">{m.text}</span>}
    </li>
  );
}

/**
 * Composer sends text and uploads files. A first message to a friend goes
 * `to` him and opens the conversation.
 */
function Composer({ conversationId, peerId, onFirstMessage }: {
  conversationId?: string; peerId?: string; onFirstMessage: () => void;
}) {
  const [text, setText] = useState('');
  const [send, sendState] = useMutation(SendDocument, {
    update: (cache, { data }) => data && addMessage(cache, data.send),
    onCompleted: () => {
      if (!conversationId) onFirstMessage();
    },
  });
  const [upload, uploadState] = useMutation(UploadFileDocument);
  const to = conversationId ? { conversationId } : { to: peerId };
  const error = sendState.error ?? uploadState.error;

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!text.trim()) return;
    await send({ variables: { input: { ...to, text, clientId: newClientId() } } });
    setText('');
  }

  async function attach(file: File) {
    const image = file.type.startsWith('image/');
    const { data } = await upload({ variables: { file, kind: image ? 'image' : 'file' } });
    if (!data) return;
    const category = image ? 'image' : 'file';
    await send({ variables: { input: { ...to, parts: [{ category, fileId: data.uploadFile.id }], clientId: newClientId() } } });
  }

  return (
    <form className="composer" onSubmit={(e) => void submit(e).catch(() => {})}>
      <input name="text" placeholder="Message" value={text} onChange={(e) => setText(e.target.value)} />
      <button type="submit" disabled={sendState.loading}>Send</button>
      <label className="attach">
        Attach
        <input type="file" name="file" hidden onChange={(e) => {
          const file = e.target.files?.[0];
          e.target.value = '';
          if (file) void attach(file).catch(() => {});
        }} />
      </label>
      {error && <p className="error" role="alert">{error.message}</p>}
    </form>
  );
}

/**
 * newClientId names one message the user sends: the server stores a
 * message once per clientId, so a request retried (by the error link after
 * a refresh, say) cannot send it twice.
 */
function newClientId(): string {
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}
