import { keccak_256 } from '@noble/hashes/sha3.js';
import type { IHasher } from 'hash-wasm';

/*
 * keccak-256 dominates leaf hashing and proof checks (12+ hashes per verified record). hash-wasm's
 * WebAssembly keccak is ~7× faster than pure JS here, but needs an async start and may be refused
 * (a portal's Content-Security-Policy without 'wasm-unsafe-eval'). So: the first call starts it in
 * the background and uses @noble/hashes until it is ready, and forever if it never is. Both give
 * identical bytes (tested). hash-wasm is imported dynamically, so a browser bundle carries it as
 * a separate chunk fetched in the background on the first hash rather than in its entry.
 */
let wasm: IHasher | undefined;
let wasmSha256: IHasher | undefined;
let starting: Promise<boolean> | undefined;

/**
 * Starts the WebAssembly keccak (and SHA-256, see {@link sha256Sync}); resolves to whether they
 * are in use (false: pure JS keccak, WebCrypto SHA-256).
 */
export function keccakReady(): Promise<boolean> {
  starting ??= import('hash-wasm')
    .then(({ createKeccak, createSHA256 }) => Promise.all([createKeccak(256), createSHA256()]))
    .then(
      ([keccak, sha]) => {
        wasm = keccak;
        wasmSha256 = sha;
        return true;
      },
      () => false,
    );
  return starting;
}

/**
 * SHA-256 on WebAssembly, synchronously, or undefined when the WebAssembly hashers are not
 * (yet) running — callers then use WebCrypto. For the small inputs of the verification hot path:
 * a WebCrypto digest is one native call but an asynchronous one, and the await per record costs
 * more than the hash itself (measured in the bench). Same bytes as WebCrypto (tested).
 */
export function sha256Sync(bytes: Uint8Array): Uint8Array | undefined {
  if (!wasmSha256) {
    if (!starting) void keccakReady();
    return undefined;
  }
  wasmSha256.init();
  wasmSha256.update(bytes);
  return wasmSha256.digest('binary');
}

/** keccak-256 in pure JS (@noble/hashes), the portable reference. */
export function keccak256Portable(bytes: Uint8Array): Uint8Array {
  return keccak_256(bytes);
}

/** keccak-256 of bytes (WebAssembly once ready, pure JS until then). */
export function keccak256(bytes: Uint8Array): Uint8Array {
  if (wasm) {
    wasm.init();
    wasm.update(bytes);
    return wasm.digest('binary');
  }
  if (!starting) void keccakReady();
  return keccak_256(bytes);
}
