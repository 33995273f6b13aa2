// The binding property tests in Chromium (@web/test-runner + mocha): the same cases as test/binding.test.ts in Node.
import { bindingCases } from '../binding-suite.js';

declare const describe: (name: string, body: () => void) => void;
declare const it: (name: string, body: () => Promise<void>) => void;

describe('verdict binds patient and hospital (Chromium)', () => {
  for (const c of bindingCases()) it(c.name, () => c.run());
});
