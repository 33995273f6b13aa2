import { keccak_256 } from '@noble/hashes/sha3.js';
import type { IHasher } from 'hash-wasm';
import { keccakBytes, keccakWasm, STATE } from './keccak-wasm.js';

/*
 * keccak-256 dominates leaf hashing and proof checks (14+ permutations per verified record). It runs
 * on core's own small WebAssembly module (keccak-wasm.ts), instantiated synchronously on first use;
 * where WebAssembly is refused (a portal's Content-Security-Policy without 'wasm-unsafe-eval') it
 * runs in pure JS (@noble/hashes). Both give identical bytes (tested).
 *
 * SHA-256 for small inputs runs on hash-wasm (see {@link sha256Sync}), started in the background on
 * first use; hash-wasm is imported dynamically, so a browser bundle carries it as a separate chunk.
 */
let wasmSha256: IHasher | undefined;
let starting: Promise<boolean> | undefined;

/**
 * Starts the WebAssembly SHA-256 (see {@link sha256Sync}); resolves to whether WebAssembly hashing
 * is in use (false: pure JS keccak, WebCrypto SHA-256).
 */
export function keccakReady(): Promise<boolean> {
  starting ??= import('hash-wasm')
    .then(({ createSHA256 }) => createSHA256())
    .then(
      (sha) => {
        wasmSha256 = sha;
        return keccakWasm() !== undefined;
      },
      () => false,
    );
  return starting;
}

/**
 * SHA-256 on WebAssembly, synchronously, or undefined when the WebAssembly hasher is not
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

/** keccak-256 of bytes (WebAssembly where allowed, else pure JS). */
export function keccak256(bytes: Uint8Array): Uint8Array {
  const k = keccakWasm();
  if (!k) return keccak_256(bytes);
  keccakBytes(k, bytes);
  return k.mem.slice(STATE, STATE + 32);
}
