import { useMutation, useSubscription } from '@apollo/client/react';
import { useState } from 'react';

import { signOut, useLive } from './apollo';
import { Contacts, type Target } from './Contacts';
import { addMessage, Conversation } from './Conversation';
import { ContactsDocument, EventsDocument, LogoutDocument } from './operations';
import { type Session, useSession } from './session';
import { SignIn } from './SignIn';

export function App() {
  const session = useSession();
  // A new session is a new person: key remounts the chat, dropping its state.
  return session ? <Chat key={session.user.id} session={session} /> : <SignIn />;
}

function Chat({ session }: { session: Session }) {
  const [target, setTarget] = useState<Target | null>(null);
  const live = useLive();
  const [logout] = useMutation(LogoutDocument);

  // One subscription for the whole app. Each event's node is written to the
  // normalized cache by id, which updates every query showing it; a new
  // message must also join its conversation's list of messages.
  useSubscription(EventsDocument, {
    onData: ({ client, data }) => {
      const node = data.data?.events.node;
      if (node?.__typename !== 'Message') return;
      addMessage(client.cache, node);
      // A conversation new to me (a first message) joins the contact list.
      const contacts = client.cache.readQuery({ query: ContactsDocument });
      const known = contacts?.conversations.edges?.some((e) => e?.node?.conversation.id === node.conversation.id);
      if (!known) void client.refetchQueries({ include: [ContactsDocument] });
    },
  });

  return (
    <div className="chat">
      <header>
        <span>Signed in as <b>{session.user.username}</b></span>
        <span className="live" data-live={live}>{live ? '● live' : '○ connecting'}</span>
        <button onClick={() => void logout().finally(signOut)}>Sign out</button>
      </header>
      <Contacts selected={target} onSelect={setTarget} />
      {target ? <Conversation key={target.key} target={target} /> : <main className="empty">Pick a contact</main>}
    </div>
  );
}
