// apollo-upload-client documents its types in JSDoc only; this is the part
// the app uses.
declare module 'apollo-upload-client/UploadHttpLink.mjs' {
  import { ApolloLink, HttpLink } from '@apollo/client';

  export default class UploadHttpLink extends ApolloLink {
    constructor(options?: HttpLink.Options);
  }
}
