import { keccak_256 } from '@noble/hashes/sha3.js';
import { memoryHex32, type Hex } from './hex.js';
import { keccakBytes, keccakWasm, STATE } from './keccak-wasm.js';
import { DIGEST, sha256Bytes, sha256Wasm } from './sha256-wasm.js';

/*
 * keccak-256 dominates leaf hashing and proof checks (14+ permutations per verified record), and
 * SHA-256 of the canonical JSON is the rest of a record's hashing. Both run on core's own small
 * WebAssembly modules (keccak-wasm.ts, sha256-wasm.ts), instantiated synchronously on first use;
 * where WebAssembly is refused (a portal's Content-Security-Policy without 'wasm-unsafe-eval')
 * keccak runs in pure JS (@noble/hashes) and SHA-256 on WebCrypto. Identical bytes (tested).
 */

/**
 * Resolves to whether hashing runs on WebAssembly (false: pure JS keccak, WebCrypto SHA-256).
 * The modules instantiate synchronously on first use; this only asks (kept async for callers that
 * await it before timing or testing).
 */
export function keccakReady(): Promise<boolean> {
  return Promise.resolve(keccakWasm() !== undefined && sha256Wasm() !== undefined);
}

/**
 * SHA-256 on WebAssembly, synchronously, or undefined where WebAssembly is refused — callers then
 * use WebCrypto. For the small inputs of the verification hot path: a WebCrypto digest is one
 * native call but an asynchronous one, and the await per record costs more than the hash itself
 * (measured in the bench). Same bytes as WebCrypto (tested).
 */
export function sha256Sync(bytes: Uint8Array): Uint8Array | undefined {
  const s = sha256Wasm();
  if (!s) return undefined;
  sha256Bytes(s, bytes);
  return s.mem.slice(DIGEST, DIGEST + 32);
}

/** {@link sha256Sync} as 0x-prefixed lowercase hex. */
export function sha256SyncHex(bytes: Uint8Array): Hex | undefined {
  const s = sha256Wasm();
  if (!s) return undefined;
  sha256Bytes(s, bytes);
  return memoryHex32(s.mem, DIGEST);
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
