import { useQuery } from '@apollo/client/react';

import { ContactsDocument } from './operations';

/** Target is what a conversation is opened with: its id, or a friend's. */
export interface Target {
  key: string;
  title: string;
  conversationId?: string;
  peerId?: string;
}

/** Contacts lists my conversations, newest first, and my friends. */
export function Contacts({ selected, onSelect }: { selected: Target | null; onSelect: (t: Target) => void }) {
  const { data, error } = useQuery(ContactsDocument);
  if (error) return <nav className="error">{error.message}</nav>;
  const conversations = data?.conversations.edges?.flatMap((e) => (e?.node ? [e.node] : [])) ?? [];
  const friends = data?.friends.edges?.flatMap((e) => (e?.node ? [e.node] : [])) ?? [];
  const item = (t: Target, label: React.ReactNode) => (
    <li key={t.key}>
      <button className={selected?.key === t.key ? 'selected' : ''} onClick={() => onSelect(t)}>{label}</button>
    </li>
  );
  return (
    <nav className="contacts">
      <h2>Conversations</h2>
      <ul>
        {conversations.map((c) => item(
          // A direct conversation has the same key as its friend's entry.
          { key: c.peer ? `user:${c.peer.id}` : c.conversation.id, title: c.title, conversationId: c.conversation.id },
          <>
            <b>{c.title}</b>{c.unreadCount > 0 && <span className="badge">{c.unreadCount}</span>}
            <small>{c.lastMessage?.preview}</small>
          </>,
        ))}
      </ul>
      <h2>Friends</h2>
      <ul>
        {friends.map(({ friend, remark }) => item(
          { key: `user:${friend.id}`, title: remark || friend.nickname || friend.username, peerId: friend.id },
          <>{friend.online ? '● ' : '○ '}{remark || friend.nickname || friend.username}</>,
        ))}
      </ul>
    </nav>
  );
}
