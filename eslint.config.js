// One lint setup for the whole monorepo (ESLint flat config + typescript-eslint).
// TypeScript files are linted with type information (the project service finds each file's
// tsconfig), so promise mistakes are caught: a promise nobody awaits (an assertion that can
// never fail, an error nobody sees) or a promise passed where a callback's result is ignored.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      '.tools/**',
      '.data/**',
      '**/storybook-static/**',
      'packages/contracts/artifacts/**',
      'packages/*/generated/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-syntax': [
        'error',
        { selector: 'ExportDefaultDeclaration', message: 'No default exports (docs/conventions.md §15).' },
      ],
    },
  },
  {
    files: ['**/*.ts', '**/*.tsx', '**/*.mts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          // node:test's describe/it/test return promises the runner itself awaits.
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] },
            // chai's equal is synchronous; @open-wc/semantic-dom-diff's typings merge a Promise-returning
            // overload into it (its runtime returns nothing), which would flag every expect(…).to.equal.
            { from: 'package', package: 'chai', name: 'Equal' },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
    },
  },
  {
    // Config files whose tools require a default export.
    files: [
      '**/*.config.{js,mjs,ts}',
      '**/.storybook/**',
      'stories/**/*.stories.ts',
      'web-test-runner.config.*',
    ],
    rules: { 'no-restricted-syntax': 'off' },
  },
);
