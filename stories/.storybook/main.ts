/**
 * Storybook for the ehr-anchor elements. Stories import the widgets' TypeScript sources (the
 * `source` export condition), read their docs tables from the custom-elements.json the widgets'
 * analyzer generates, and load the repository's Synthea fixtures (`fixtures/`) as static files, so
 * nothing here needs a running bridge, chain or IPFS node.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StorybookConfig } from '@storybook/web-components-vite';
import { defaultClientConditions, mergeConfig } from 'vite';
import { customElementsManifest } from '../scripts/manifest.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..', '..');
/** The repository's fixtures, like @ehr-anchor/testkit's fixturesDir. */
const fixturesDir = join(repoRoot, 'fixtures');

// Storybook reads this before it loads anything else; telemetry stays off even without the env var.
process.env.STORYBOOK_DISABLE_TELEMETRY = '1';

const config: StorybookConfig = {
  stories: ['../*/*.stories.ts'],
  addons: ['@storybook/addon-docs', '@storybook/addon-a11y'],
  framework: { name: '@storybook/web-components-vite', options: {} },
  core: { disableTelemetry: true, disableWhatsNewNotifications: true },
  // Only the Synthea bundles and the XSS corpus: the stories use nothing else.
  staticDirs: [
    { from: join(fixturesDir, 'fhir', 'synthea'), to: '/fixtures/fhir/synthea' },
    { from: join(fixturesDir, 'xss'), to: '/fixtures/xss' },
  ],
  async viteFinal(viteConfig) {
    return mergeConfig(viteConfig, {
      // `source` first: the widgets and core are used as TypeScript, no build of theirs needed.
      resolve: { conditions: ['source', ...defaultClientConditions] },
      // The widgets use standard decorators (`@property() accessor x`), which no browser runs yet:
      // esbuild lowers them only for a target below esnext.
      esbuild: { target: 'es2022' },
      plugins: [customElementsManifest()],
      build: { chunkSizeWarningLimit: 4096 },
    });
  },
};

export default config;
