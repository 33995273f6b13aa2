// One lint setup for the whole monorepo (ESLint flat config + typescript-eslint).
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
        { selector: 'ExportDefaultDeclaration', message: 'No default exports (STYLE.md §15).' },
      ],
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
