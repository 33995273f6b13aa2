import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { keccak256, keccakReady } from '../src/index.js';
import { keccak256Portable, sha256Sync, sha256SyncHex } from '../src/keccak.js';
import { keccakModuleBytes } from '../src/keccak-wasm.js';
import { sha256ModuleBytes } from '../src/sha256-wasm.js';

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
    assert.equal(
      Buffer.from(keccak256(new Uint8Array(0))).toString('hex'),
      'c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470',
    );
  });
});

describe('SHA-256 on WebAssembly (the verification hot path)', () => {
  it('gives the same bytes as WebCrypto for every length 0..1100 and for 64 KiB, 1 MiB', async () => {
    assert.equal(await keccakReady(), true);
    const lengths = [...Array.from({ length: 1101 }, (_, n) => n), 64 * 1024, 1024 * 1024];
    for (const n of lengths) {
      const data = new Uint8Array(n);
      for (let i = 0; i < n; i += 65536) crypto.getRandomValues(data.subarray(i, i + 65536));
      const expected = new Uint8Array(await crypto.subtle.digest('SHA-256', data));
      assert.deepEqual(sha256Sync(data), expected, `length ${n}`);
      assert.equal(sha256SyncHex(data), `0x${Buffer.from(expected).toString('hex')}`, `hex, length ${n}`);
    }
  });

  it('matches the known SHA-256 of "abc"', async () => {
    await keccakReady();
    assert.equal(
      Buffer.from(sha256Sync(new TextEncoder().encode('abc'))!).toString('hex'),
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });
});

describe('the WebAssembly hash modules', () => {
  it('stay under 4 KB, the synchronous-compile limit on a page main thread of older Chromium versions (156 allows 8 MB)', () => {
    assert.ok(keccakModuleBytes().length < 4096, `keccak module: ${keccakModuleBytes().length} bytes`);
    assert.ok(sha256ModuleBytes().length < 4096, `SHA-256 module: ${sha256ModuleBytes().length} bytes`);
  });
});
