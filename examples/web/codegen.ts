import type { CodegenConfig } from '@graphql-codegen/cli';

// The types of every operation in src/, from the server's printed schema.
// CODEGEN_OUT lets web_test.go generate into a temporary folder and compare
// it with the committed src/gql/.
const config: CodegenConfig = {
  schema: '../../schema.graphql',
  documents: ['src/**/*.{ts,tsx}', '!src/gql/**'],
  generates: {
    [process.env.CODEGEN_OUT ?? './src/gql/']: {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        scalars: {
          Time: 'string',
          Cursor: 'string',
          Map: 'Record<string, unknown>',
          Upload: 'File',
        },
        enumsAsTypes: true,
        useTypeImports: true,
      },
    },
  },
  // Every file written is marked as generated (mark-generated.mjs).
  hooks: { afterOneFileWrite: ['node mark-generated.mjs'] },
};

export default config;
