// The app's operations. `npm run codegen` reads them and writes their types
// to src/gql/, so each document below is a TypedDocumentNode: useQuery and
// friends know the shape of its variables and data.
import { graphql } from './gql';

export const SessionFields = graphql(`
  fragment SessionFields on AuthPayload {
    accessToken
    refreshToken
    expiresAt
    user { id username }
  }
`);

export const LoginDocument = graphql(`
  mutation Login($input: LoginInput!) {
    login(input: $input) { ...SessionFields }
  }
`);

export const RegisterDocument = graphql(`
  mutation Register($input: RegisterInput!) {
    register(input: $input) { ...SessionFields }
  }
`);

export const RefreshTokenDocument = graphql(`
  mutation RefreshToken($refreshToken: String!) {
    refreshToken(refreshToken: $refreshToken) { ...SessionFields }
  }
`);

export const LogoutDocument = graphql(`
  mutation Logout { logout }
`);

export const ContactsDocument = graphql(`
  query Contacts {
    conversations(first: 30) {
      edges {
        node {
          id
          title
          unreadCount
          peer { id }
          conversation { id }
          lastMessage { id preview }
        }
      }
    }
    friends(first: 100) {
      edges { node { id remark friend { id username nickname online } } }
    }
  }
`);

export const DirectConversationDocument = graphql(`
  query DirectConversation($userId: ID!) {
    directConversation(userId: $userId) { id }
  }
`);

export const MessageFields = graphql(`
  fragment MessageFields on Message {
    id
    seq
    text
    createdAt
    mine
    revokedAt
    sender { id username }
    conversation { id }
    parts { category name url }
  }
`);

export const MessagesDocument = graphql(`
  query Messages($conversationId: ID!, $last: Int!, $before: Cursor) {
    messages(conversationId: $conversationId, last: $last, before: $before) {
      edges { cursor node { ...MessageFields } }
      pageInfo { hasPreviousPage startCursor }
    }
  }
`);

// What a conversation's entry in the contact list shows; selected with each
// new message, so that the normalized cache updates the entry by id.
export const ConversationSummary = graphql(`
  fragment ConversationSummary on Conversation {
    id
    mine { id unreadCount lastMessage { id preview } }
  }
`);

export const SendDocument = graphql(`
  mutation Send($input: SendInput!) {
    send(input: $input) { ...MessageFields conversation { ...ConversationSummary } }
  }
`);

export const UploadFileDocument = graphql(`
  mutation UploadFile($file: Upload!, $kind: FileKind!) {
    uploadFile(file: $file, kind: $kind) { id name }
  }
`);

// Everything that happens to me. A message's event carries the message and
// its conversation's summary.
export const EventsDocument = graphql(`
  subscription Events {
    events {
      cursor
      node {
        __typename
        id
        ... on Message {
          ...MessageFields
          conversation { ...ConversationSummary }
        }
      }
    }
  }
`);
