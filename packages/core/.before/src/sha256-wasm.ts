/*
 * SHA-256 (FIPS 180-4) as a small WebAssembly module assembled here, for the content hash on the
 * verification hot path: WebCrypto's digest is native but asynchronous, and an await per record
 * costs more than hashing a FHIR resource. The working variables and the 16-word message schedule
 * live in WebAssembly locals; callers encode the canonical JSON straight into the module's memory
 * (no copy) and read the digest from it. Same bytes as WebCrypto (tested for every length 0..1100,
 * 64 KiB, 1 MiB, in Node and Chromium).
 *
 * About 3.4 KB, so synchronous compilation on a page's main thread is fine (Chromium 156 allows it
 * up to 8 MB; older versions up to 4 KB). Where WebAssembly is refused, {@link sha256Wasm} returns undefined and callers use
 * WebCrypto.
 */
import {
  BLOCK,
  BR,
  BR_IF,
  END,
  I32,
  I32_ADD,
  I32_AND,
  I32_CONST,
  I32_EQ,
  I32_LOAD,
  I32_OR,
  I32_ROTL,
  I32_ROTR,
  I32_SHR_U,
  I32_STORE,
  I32_SUB,
  I32_XOR,
  LOCAL_GET,
  LOCAL_SET,
  LOCAL_TEE,
  LOOP,
  name,
  section,
  sleb,
  uleb,
  vec,
  VOID,
} from './wasm-asm.js';

/** Offsets in the module's one 64 KiB page. */
const H = 0; // the eight state words (little-endian i32s)
/** The digest as big-endian bytes, written after every call. */
export const DIGEST = 32;
const K_TABLE = 64; // 64 round constants
/** Free input area up to the end of the page. */
export const INPUT = 1024;
/** Whole 64-byte blocks that fit the input area. */
export const INPUT_BLOCKS = Math.floor((65536 - INPUT) / 64);

const K = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
];
const IV = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

export interface Sha256Wasm {
  /** The module's memory (one page; never grows). */
  readonly mem: Uint8Array;
  /** The state words, for setting the initial value. */
  readonly h: Uint32Array;
  /** The input area as a view, minus room for the padding: what {@link sha256Input} can hash at once. */
  readonly input: Uint8Array;
  /** Compresses `blocks` 64-byte blocks at `ptr` into the state and writes the digest at {@link DIGEST}. */
  compress(ptr: number, blocks: number): void;
}

/** `compress(ptr, blocks)` with the state words loaded into locals once and stored back at the end. */
function compressBody(): number[] {
  const PTR = 0;
  const BLOCKS = 1;
  const KP = 2;
  const T = 3;
  const h = (i: number) => 4 + i; // the state, kept across blocks
  const v = (i: number) => 12 + i; // a..h of the current block
  const w = (i: number) => 20 + i; // message schedule, 16 words rolling
  const code: number[] = [];
  const get = (i: number) => code.push(LOCAL_GET, i);
  const set = (i: number) => code.push(LOCAL_SET, i);
  const rotr = (n: number) => code.push(I32_CONST, n, I32_ROTR);
  // Big-endian load: bswap(x) = (rotl(x, 8) & 0x00ff00ff) | (rotr(x, 8) & 0xff00ff00).
  const loadBE = (offset: number) => {
    get(PTR);
    code.push(
      I32_LOAD,
      2,
      ...uleb(offset),
      LOCAL_TEE,
      T,
      I32_CONST,
      8,
      I32_ROTL,
      I32_CONST,
      ...sleb(0x00ff00ff),
      I32_AND,
    );
    get(T);
    code.push(I32_CONST, 8, I32_ROTR, I32_CONST, ...sleb(0xff00ff00 | 0), I32_AND, I32_OR);
  };
  const storeBE = (offset: number, local: number) => {
    code.push(I32_CONST, 0);
    get(local);
    code.push(I32_CONST, 8, I32_ROTL, I32_CONST, ...sleb(0x00ff00ff), I32_AND);
    get(local);
    code.push(
      I32_CONST,
      8,
      I32_ROTR,
      I32_CONST,
      ...sleb(0xff00ff00 | 0),
      I32_AND,
      I32_OR,
      I32_STORE,
      2,
      ...uleb(offset),
    );
  };
  /** Round t of a 16-round body (its working-variable roles rotate by t). */
  /** W[t] += σ0(W[t+1]) + W[t+9] + σ1(W[t+14]) (indices mod 16): in place, in order t = 0..15, the next sixteen words. */
  const schedule = (t: number) => {
    // W[t] += σ0(W[t+1]) + W[t+9] + σ1(W[t+14]) (indices mod 16)
    get(w(t));
    get(w((t + 1) % 16));
    rotr(7);
    get(w((t + 1) % 16));
    rotr(18);
    code.push(I32_XOR);
    get(w((t + 1) % 16));
    code.push(I32_CONST, 3, I32_SHR_U, I32_XOR, I32_ADD);
    get(w((t + 9) % 16));
    code.push(I32_ADD);
    get(w((t + 14) % 16));
    rotr(17);
    get(w((t + 14) % 16));
    rotr(19);
    code.push(I32_XOR);
    get(w((t + 14) % 16));
    code.push(I32_CONST, 10, I32_SHR_U, I32_XOR, I32_ADD);
    set(w(t));
  };
  const round = (t: number) => {
    const role = (r: number) => v((((r - t) % 8) + 8) % 8);
    const [a, b, c, d, e, f, g, hh] = [0, 1, 2, 3, 4, 5, 6, 7].map(role) as [
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    // T1 = h + Σ1(e) + Ch(e, f, g) + K + W
    get(hh);
    get(e);
    rotr(6);
    get(e);
    rotr(11);
    code.push(I32_XOR);
    get(e);
    rotr(25);
    code.push(I32_XOR, I32_ADD);
    get(g);
    get(e);
    get(f);
    get(g);
    code.push(I32_XOR, I32_AND, I32_XOR, I32_ADD);
    get(KP);
    code.push(I32_LOAD, 2, ...uleb(4 * t), I32_ADD);
    get(w(t));
    code.push(I32_ADD);
    set(T);
    // d += T1
    get(d);
    get(T);
    code.push(I32_ADD);
    set(d);
    // h = T1 + Σ0(a) + Maj(a, b, c)
    get(T);
    get(a);
    rotr(2);
    get(a);
    rotr(13);
    code.push(I32_XOR);
    get(a);
    rotr(22);
    code.push(I32_XOR, I32_ADD);
    get(a);
    get(b);
    get(c);
    code.push(I32_OR, I32_AND);
    get(b);
    get(c);
    code.push(I32_AND, I32_OR, I32_ADD);
    set(hh);
  };

  for (let i = 0; i < 8; i++) {
    code.push(I32_CONST, 0, I32_LOAD, 2, ...uleb(H + 4 * i));
    set(h(i));
  }
  code.push(LOOP, VOID); // per block
  for (let i = 0; i < 8; i++) {
    get(h(i));
    set(v(i));
  }
  for (let t = 0; t < 16; t++) {
    loadBE(4 * t);
    set(w(t));
  }
  code.push(I32_CONST, ...sleb(K_TABLE));
  set(KP);
  code.push(BLOCK, VOID, LOOP, VOID); // sixteen rounds at a time, then the next sixteen schedule words
  for (let t = 0; t < 16; t++) round(t);
  get(KP);
  code.push(
    I32_CONST,
    ...sleb(64),
    I32_ADD,
    LOCAL_TEE,
    KP,
    I32_CONST,
    ...sleb(K_TABLE + 256),
    I32_EQ,
    BR_IF,
    1,
  );
  for (let t = 0; t < 16; t++) schedule(t);
  code.push(BR, 0, END, END);
  for (let i = 0; i < 8; i++) {
    get(h(i));
    get(v(i));
    code.push(I32_ADD);
    set(h(i));
  }
  get(PTR);
  code.push(I32_CONST, ...sleb(64), I32_ADD);
  set(PTR);
  get(BLOCKS);
  code.push(I32_CONST, 1, I32_SUB, LOCAL_TEE, BLOCKS, BR_IF, 0, END);
  for (let i = 0; i < 8; i++) {
    code.push(I32_CONST, 0);
    get(h(i));
    code.push(I32_STORE, 2, ...uleb(H + 4 * i));
    storeBE(DIGEST + 4 * i, h(i));
  }
  code.push(END);
  return [...vec([[34, I32]]), ...code];
}

/** The module's bytes: `compress(ptr, blocks)`, one exported memory page, the round constants as data. */
export function sha256ModuleBytes(): Uint8Array {
  const body = compressBody();
  const k: number[] = [];
  for (const word of K) k.push(word & 0xff, (word >>> 8) & 0xff, (word >>> 16) & 0xff, word >>> 24);
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec([[0x60, ...vec([[I32], [I32]]), 0]])),
    ...section(3, vec([[0]])),
    ...section(5, vec([[0x00, 1]])),
    ...section(
      7,
      vec([
        [...name('compress'), 0x00, 0],
        [...name('memory'), 0x02, 0],
      ]),
    ),
    ...section(10, vec([[...uleb(body.length), ...body]])),
    ...section(11, vec([[0x00, I32_CONST, ...sleb(K_TABLE), END, ...vec(k.map((byte) => [byte]))]])),
  ]);
}

/** The synchronous WebAssembly constructors (the project's lib has no WebAssembly typings). */
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: object };
}

let instance: Sha256Wasm | null | undefined;

/** The WebAssembly SHA-256, instantiated synchronously on first use; undefined where WebAssembly is unavailable or refused. */
export function sha256Wasm(): Sha256Wasm | undefined {
  if (instance === undefined) {
    try {
      const { WebAssembly: wa } = globalThis as unknown as { WebAssembly: WebAssemblyApi };
      const wasm = new wa.Instance(new wa.Module(sha256ModuleBytes()));
      const exports = wasm.exports as { compress: Sha256Wasm['compress']; memory: { buffer: ArrayBuffer } };
      const mem = new Uint8Array(exports.memory.buffer);
      instance = {
        mem,
        h: new Uint32Array(exports.memory.buffer, H, 8),
        input: mem.subarray(INPUT, INPUT + INPUT_BLOCKS * 64 - 9),
        compress: exports.compress,
      };
    } catch {
      instance = null; // no WebAssembly here (CSP, old engine): WebCrypto
    }
  }
  return instance ?? undefined;
}

/**
 * Injected fault for tests: `true` makes {@link sha256Wasm} behave as where WebAssembly is refused
 * (WebCrypto from then on); `false` lets it instantiate again.
 */
export function refuseSha256WasmForTesting(refused: boolean): void {
  instance = refused ? null : undefined;
}

/**
 * SHA-256 of `length` bytes already written at {@link INPUT} (at most `INPUT_BLOCKS * 64 - 9`
 * bytes): pads them in place (0x80, zeros, the bit length) and leaves the digest at {@link DIGEST}.
 */
export function sha256Input(s: Sha256Wasm, length: number): void {
  s.h.set(IV);
  finish(s, length, length);
}

/** SHA-256 of any bytes (copied through the input area in chunks); the digest is left at {@link DIGEST}. */
export function sha256Bytes(s: Sha256Wasm, bytes: Uint8Array): void {
  s.h.set(IV);
  let offset = 0;
  // Whole blocks while the rest plus its padding (at least 9 bytes) would not fit the input area.
  while (bytes.length - offset > INPUT_BLOCKS * 64 - 9) {
    const blocks = Math.min(INPUT_BLOCKS, Math.floor((bytes.length - offset) / 64));
    s.mem.set(bytes.subarray(offset, offset + blocks * 64), INPUT);
    s.compress(INPUT, blocks);
    offset += blocks * 64;
  }
  s.mem.set(bytes.subarray(offset), INPUT);
  finish(s, bytes.length - offset, bytes.length);
}

/** Starts a message streamed through the input area by the caller (see {@link sha256Finish}). */
export function sha256Begin(s: Sha256Wasm): void {
  s.h.set(IV);
}

/**
 * Ends a streamed message: the caller compressed its first `total - rest` bytes in whole blocks
 * (`compress(INPUT, blocks)`) and left the last `rest` bytes (at most `INPUT_BLOCKS * 64 - 72`) at
 * {@link INPUT}; pads and compresses them and leaves the digest at {@link DIGEST}.
 */
export function sha256Finish(s: Sha256Wasm, rest: number, total: number): void {
  finish(s, rest, total);
}

/** Pads the last `rest` bytes at INPUT of a `total`-byte message and compresses them. */
function finish(s: Sha256Wasm, rest: number, total: number): void {
  const blocks = Math.floor((rest + 8) / 64) + 1;
  const end = INPUT + blocks * 64;
  const mem = s.mem;
  mem[INPUT + rest] = 0x80;
  mem.fill(0, INPUT + rest + 1, end - 8);
  // Bit length, big-endian 64-bit (inputs here stay far below 2^53 bits).
  const bits = total * 8;
  const high = Math.floor(bits / 0x1_0000_0000);
  const low = bits >>> 0;
  mem[end - 8] = high >>> 24;
  mem[end - 7] = (high >>> 16) & 0xff;
  mem[end - 6] = (high >>> 8) & 0xff;
  mem[end - 5] = high & 0xff;
  mem[end - 4] = low >>> 24;
  mem[end - 3] = (low >>> 16) & 0xff;
  mem[end - 2] = (low >>> 8) & 0xff;
  mem[end - 1] = low & 0xff;
  s.compress(INPUT, blocks);
}
