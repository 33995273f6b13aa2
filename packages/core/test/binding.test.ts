import { after, before, describe, it } from 'node:test';
import { refuseKeccakWasmForTesting } from '../src/keccak-wasm.js';
import { refuseSha256WasmForTesting } from '../src/sha256-wasm.js';
import { bindingCases } from './binding-suite.js';

// The same cases run in Chromium: test/browser/binding.browser.ts (npm run test:browser).
describe('verdict binds patient and hospital (Node)', () => {
  for (const c of bindingCases()) it(c.name, () => c.run());
});

// Injected fault: WebAssembly refused (pure-JS keccak, WebCrypto SHA-256: the asynchronous path).
describe('verdict binds patient and hospital (Node, WebAssembly refused)', () => {
  before(() => {
    refuseKeccakWasmForTesting(true);
    refuseSha256WasmForTesting(true);
  });
  after(() => {
    refuseKeccakWasmForTesting(false);
    refuseSha256WasmForTesting(false);
  });
  for (const c of bindingCases()) it(c.name, () => c.run());
});
