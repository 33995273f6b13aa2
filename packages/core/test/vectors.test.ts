import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { keccakWasm, refuseKeccakWasmForTesting } from '../src/keccak-wasm.js';
import { refuseSha256WasmForTesting, sha256Wasm } from '../src/sha256-wasm.js';
import vectors from './vectors.json' with { type: 'json' };
import { vectorCases, type Vectors } from './vectors-suite.js';

// The same cases run in Chromium: test/browser/vectors.browser.ts (npm run test:browser).
describe('test vectors (Node)', () => {
  for (const c of vectorCases(vectors as Vectors)) it(c.name, () => c.run());
});

// Injected fault: WebAssembly refused (a Content-Security-Policy without 'wasm-unsafe-eval'), so
// leaf hashes, trees and proofs take the pure-JS keccak path and content hashes WebCrypto; the
// vectors must not change.
describe('test vectors (Node, WebAssembly refused: pure JS keccak, WebCrypto SHA-256)', () => {
  before(() => {
    refuseKeccakWasmForTesting(true);
    refuseSha256WasmForTesting(true);
  });
  after(() => {
    refuseKeccakWasmForTesting(false);
    refuseSha256WasmForTesting(false);
  });
  it('has no WebAssembly hashing while refused', () => {
    assert.equal(keccakWasm(), undefined);
    assert.equal(sha256Wasm(), undefined);
  });
  for (const c of vectorCases(vectors as Vectors))
    if (!c.name.includes('WebAssembly')) it(c.name, () => c.run());
});
