// The test vectors in Chromium (@web/test-runner + mocha): the same cases as test/vectors.test.ts in Node.
import { vectorCases, type Vectors } from '../vectors-suite.js';

// Fetched rather than imported as a JSON module: the dev server's import rewriting does not keep import attributes.
const vectors = (await (await fetch(new URL('../vectors.json', import.meta.url))).json()) as Vectors;

declare const describe: (name: string, body: () => void) => void;
declare const it: (name: string, body: () => Promise<void>) => void;

describe('test vectors (Chromium)', () => {
  it('runs in a browser, not Node', async () => {
    if (
      typeof (globalThis as { process?: unknown }).process !== 'undefined' ||
      typeof (globalThis as { document?: unknown }).document === 'undefined'
    ) {
      throw new Error('expected a browser page');
    }
  });
  for (const c of vectorCases(vectors)) it(c.name, () => c.run());
});
