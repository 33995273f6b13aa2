import { describe, it } from 'node:test';
import vectors from './vectors.json' with { type: 'json' };
import { vectorCases, type Vectors } from './vectors-suite.js';

// The same cases run in Chromium: test/browser/vectors.browser.ts (npm run test:browser).
describe('test vectors (Node)', () => {
  for (const c of vectorCases(vectors as Vectors)) it(c.name, () => c.run());
});
