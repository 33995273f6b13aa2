import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { keccak256, keccakReady } from '../src/index.js';
import { keccak256Portable } from '../src/keccak.js';

describe('keccak-256', () => {
  it('runs on WebAssembly in Node once started', async () => {
    assert.equal(await keccakReady(), true);
  });

  it('gives the same bytes on WebAssembly and in pure JS for every length 0..700', async () => {
    await keccakReady();
    for (let n = 0; n <= 700; n++) {
      const data = crypto.getRandomValues(new Uint8Array(n));
      assert.deepEqual(keccak256(data), keccak256Portable(data), `length ${n}`);
    }
  });

  it('matches the known keccak-256 of the empty string', () => {
    assert.equal(Buffer.from(keccak256(new Uint8Array(0))).toString('hex'), 'c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470');
  });
});
