import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.cache/**', 'models/**', 'out/**', 'coverage/**', 'scratch/**', 'logs/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    // the core must run in a browser: only the CLI and the Node adapters may touch Node APIs
    files: ['src/**/*.ts'],
    ignores: ['src/cli/**', 'src/**/node/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['node:*', 'fs', 'path', 'zlib', 'os', 'child_process', 'worker_threads'], message: 'core code must not use Node-only APIs; put I/O behind an adapter in a node/ folder' }] }],
      'no-console': 'error',
    },
  },
  {
    files: ['bin/**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
