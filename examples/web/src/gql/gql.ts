/* eslint-disable */
import * as types from './graphql';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  fragment SessionFields on AuthPayload {\n    accessToken\n    refreshToken\n    expiresAt\n    user { id username }\n  }\n": typeof types.SessionFieldsFragmentDoc,
    "\n  mutation Login($input: LoginInput!) {\n    login(input: $input) { ...SessionFields }\n  }\n": typeof types.LoginDocument,
    "\n  mutation Register($input: RegisterInput!) {\n    register(input: $input) { ...SessionFields }\n  }\n": typeof types.RegisterDocument,
    "\n  mutation RefreshToken($refreshToken: String!) {\n    refreshToken(refreshToken: $refreshToken) { ...SessionFields }\n  }\n": typeof types.RefreshTokenDocument,
    "\n  mutation Logout { logout }\n": typeof types.LogoutDocument,
    "\n  query Contacts {\n    conversations(first: 30) {\n      edges {\n        node {\n          id\n          title\n          unreadCount\n          peer { id }\n          conversation { id }\n          lastMessage { id preview }\n        }\n      }\n    }\n    friends(first: 100) {\n      edges { node { id remark friend { id username nickname online } } }\n    }\n  }\n": typeof types.ContactsDocument,
    "\n  query DirectConversation($userId: ID!) {\n    directConversation(userId: $userId) { id }\n  }\n": typeof types.DirectConversationDocument,
    "\n  fragment MessageFields on Message {\n    id\n    seq\n    text\n    createdAt\n    mine\n    revokedAt\n    sender { id username }\n    conversation { id }\n    parts { category name url }\n  }\n": typeof types.MessageFieldsFragmentDoc,
    "\n  query Messages($conversationId: ID!, $last: Int!, $before: Cursor) {\n    messages(conversationId: $conversationId, last: $last, before: $before) {\n      edges { cursor node { ...MessageFields } }\n      pageInfo { hasPreviousPage startCursor }\n    }\n  }\n": typeof types.MessagesDocument,
    "\n  fragment ConversationSummary on Conversation {\n    id\n    mine { id unreadCount lastMessage { id preview } }\n  }\n": typeof types.ConversationSummaryFragmentDoc,
    "\n  mutation Send($input: SendInput!) {\n    send(input: $input) { ...MessageFields conversation { ...ConversationSummary } }\n  }\n": typeof types.SendDocument,
    "\n  mutation UploadFile($file: Upload!, $kind: FileKind!) {\n    uploadFile(file: $file, kind: $kind) { id name }\n  }\n": typeof types.UploadFileDocument,
    "\n  subscription Events {\n    events {\n      cursor\n      node {\n        __typename\n        id\n        ... on Message {\n          ...MessageFields\n          conversation { ...ConversationSummary }\n        }\n      }\n    }\n  }\n": typeof types.EventsDocument,
};
const documents: Documents = {
    "\n  fragment SessionFields on AuthPayload {\n    accessToken\n    refreshToken\n    expiresAt\n    user { id username }\n  }\n": types.SessionFieldsFragmentDoc,
    "\n  mutation Login($input: LoginInput!) {\n    login(input: $input) { ...SessionFields }\n  }\n": types.LoginDocument,
    "\n  mutation Register($input: RegisterInput!) {\n    register(input: $input) { ...SessionFields }\n  }\n": types.RegisterDocument,
    "\n  mutation RefreshToken($refreshToken: String!) {\n    refreshToken(refreshToken: $refreshToken) { ...SessionFields }\n  }\n": types.RefreshTokenDocument,
    "\n  mutation Logout { logout }\n": types.LogoutDocument,
    "\n  query Contacts {\n    conversations(first: 30) {\n      edges {\n        node {\n          id\n          title\n          unreadCount\n          peer { id }\n          conversation { id }\n          lastMessage { id preview }\n        }\n      }\n    }\n    friends(first: 100) {\n      edges { node { id remark friend { id username nickname online } } }\n    }\n  }\n": types.ContactsDocument,
    "\n  query DirectConversation($userId: ID!) {\n    directConversation(userId: $userId) { id }\n  }\n": types.DirectConversationDocument,
    "\n  fragment MessageFields on Message {\n    id\n    seq\n    text\n    createdAt\n    mine\n    revokedAt\n    sender { id username }\n    conversation { id }\n    parts { category name url }\n  }\n": types.MessageFieldsFragmentDoc,
    "\n  query Messages($conversationId: ID!, $last: Int!, $before: Cursor) {\n    messages(conversationId: $conversationId, last: $last, before: $before) {\n      edges { cursor node { ...MessageFields } }\n      pageInfo { hasPreviousPage startCursor }\n    }\n  }\n": types.MessagesDocument,
    "\n  fragment ConversationSummary on Conversation {\n    id\n    mine { id unreadCount lastMessage { id preview } }\n  }\n": types.ConversationSummaryFragmentDoc,
    "\n  mutation Send($input: SendInput!) {\n    send(input: $input) { ...MessageFields conversation { ...ConversationSummary } }\n  }\n": types.SendDocument,
    "\n  mutation UploadFile($file: Upload!, $kind: FileKind!) {\n    uploadFile(file: $file, kind: $kind) { id name }\n  }\n": types.UploadFileDocument,
    "\n  subscription Events {\n    events {\n      cursor\n      node {\n        __typename\n        id\n        ... on Message {\n          ...MessageFields\n          conversation { ...ConversationSummary }\n        }\n      }\n    }\n  }\n": types.EventsDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment SessionFields on AuthPayload {\n    accessToken\n    refreshToken\n    expiresAt\n    user { id username }\n  }\n"): (typeof documents)["\n  fragment SessionFields on AuthPayload {\n    accessToken\n    refreshToken\n    expiresAt\n    user { id username }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Login($input: LoginInput!) {\n    login(input: $input) { ...SessionFields }\n  }\n"): (typeof documents)["\n  mutation Login($input: LoginInput!) {\n    login(input: $input) { ...SessionFields }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Register($input: RegisterInput!) {\n    register(input: $input) { ...SessionFields }\n  }\n"): (typeof documents)["\n  mutation Register($input: RegisterInput!) {\n    register(input: $input) { ...SessionFields }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RefreshToken($refreshToken: String!) {\n    refreshToken(refreshToken: $refreshToken) { ...SessionFields }\n  }\n"): (typeof documents)["\n  mutation RefreshToken($refreshToken: String!) {\n    refreshToken(refreshToken: $refreshToken) { ...SessionFields }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Logout { logout }\n"): (typeof documents)["\n  mutation Logout { logout }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Contacts {\n    conversations(first: 30) {\n      edges {\n        node {\n          id\n          title\n          unreadCount\n          peer { id }\n          conversation { id }\n          lastMessage { id preview }\n        }\n      }\n    }\n    friends(first: 100) {\n      edges { node { id remark friend { id username nickname online } } }\n    }\n  }\n"): (typeof documents)["\n  query Contacts {\n    conversations(first: 30) {\n      edges {\n        node {\n          id\n          title\n          unreadCount\n          peer { id }\n          conversation { id }\n          lastMessage { id preview }\n        }\n      }\n    }\n    friends(first: 100) {\n      edges { node { id remark friend { id username nickname online } } }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query DirectConversation($userId: ID!) {\n    directConversation(userId: $userId) { id }\n  }\n"): (typeof documents)["\n  query DirectConversation($userId: ID!) {\n    directConversation(userId: $userId) { id }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment MessageFields on Message {\n    id\n    seq\n    text\n    createdAt\n    mine\n    revokedAt\n    sender { id username }\n    conversation { id }\n    parts { category name url }\n  }\n"): (typeof documents)["\n  fragment MessageFields on Message {\n    id\n    seq\n    text\n    createdAt\n    mine\n    revokedAt\n    sender { id username }\n    conversation { id }\n    parts { category name url }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Messages($conversationId: ID!, $last: Int!, $before: Cursor) {\n    messages(conversationId: $conversationId, last: $last, before: $before) {\n      edges { cursor node { ...MessageFields } }\n      pageInfo { hasPreviousPage startCursor }\n    }\n  }\n"): (typeof documents)["\n  query Messages($conversationId: ID!, $last: Int!, $before: Cursor) {\n    messages(conversationId: $conversationId, last: $last, before: $before) {\n      edges { cursor node { ...MessageFields } }\n      pageInfo { hasPreviousPage startCursor }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment ConversationSummary on Conversation {\n    id\n    mine { id unreadCount lastMessage { id preview } }\n  }\n"): (typeof documents)["\n  fragment ConversationSummary on Conversation {\n    id\n    mine { id unreadCount lastMessage { id preview } }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Send($input: SendInput!) {\n    send(input: $input) { ...MessageFields conversation { ...ConversationSummary } }\n  }\n"): (typeof documents)["\n  mutation Send($input: SendInput!) {\n    send(input: $input) { ...MessageFields conversation { ...ConversationSummary } }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UploadFile($file: Upload!, $kind: FileKind!) {\n    uploadFile(file: $file, kind: $kind) { id name }\n  }\n"): (typeof documents)["\n  mutation UploadFile($file: Upload!, $kind: FileKind!) {\n    uploadFile(file: $file, kind: $kind) { id name }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription Events {\n    events {\n      cursor\n      node {\n        __typename\n        id\n        ... on Message {\n          ...MessageFields\n          conversation { ...ConversationSummary }\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  subscription Events {\n    events {\n      cursor\n      node {\n        __typename\n        id\n        ... on Message {\n          ...MessageFields\n          conversation { ...ConversationSummary }\n        }\n      }\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;