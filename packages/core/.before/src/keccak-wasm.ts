/*
 * keccak-f[1600] as a tiny WebAssembly module assembled here (about 1.7 KB, no binary asset).
 *
 * Why: verifying a record costs ~14 keccak permutations (3 for the ABI-encoded leaf, 1 for the
 * double hash, 1 per proof level). hash-wasm's keccak keeps the state in linear memory and needs
 * three JS→WebAssembly calls plus an allocation per digest (~0.7-0.9 µs per permutation, measured);
 * this one keeps the 25 lanes in WebAssembly locals (i64 registers), has one entry point, and lets
 * callers write their input straight into its memory. Same bytes as @noble/hashes' keccak_256 and
 * OpenZeppelin's trees (tested for every length 0..1100, multi-chunk inputs, and the vectors).
 *
 * About 2.6 KB, so synchronous compilation on a page's main thread is fine (Chromium 156 allows it
 * up to 8 MB; older versions up to 4 KB). Where WebAssembly is refused (a Content-Security-Policy without
 * 'wasm-unsafe-eval'), {@link keccakWasm} returns undefined and callers use pure JS.
 */

import {
  BLOCK,
  BR_IF,
  CALL,
  ELSE,
  END,
  I32,
  I32_ADD,
  I32_CONST,
  I32_EQZ,
  I32_LE_S,
  I32_LOAD8_U,
  I32_NE,
  I32_SUB,
  I64,
  I64_AND,
  I64_CONST,
  I64_LOAD,
  I64_ROTL,
  I64_STORE,
  I64_XOR,
  IF,
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
export const STATE = 0; // 25 little-endian lanes (200 bytes); the digest is its first 32 bytes
const RC_TABLE = 256; // 24 round constants
/** A 136-byte block for 64-byte inputs (a Merkle node pair), its padding written once. */
export const PAIR = 512;
/** A 136-byte block for 32-byte inputs (the leaf's second hash), its padding written once. */
export const SINGLE = 768;
/** Free input area up to the end of the page. */
export const INPUT = 1024;
export const RATE = 136;
/** Whole blocks that fit the input area. */
export const INPUT_BLOCKS = Math.floor((65536 - INPUT) / RATE);

export interface KeccakWasm {
  /** The module's memory (one page; never grows). */
  readonly mem: Uint8Array;
  /**
   * XORs `blocks` padded 136-byte blocks at `ptr` into the state and permutes after each; `reset`
   * 1 starts from the zero state, 0 continues from the state in memory. Leaves the state in memory.
   */
  absorb(ptr: number, blocks: number, reset: number): void;
  /** Walks `count` 32-byte siblings stored at `ptr` up from the node at STATE (see proofFunctionBody). */
  proof(ptr: number, count: number): void;
  /** keccak256(keccak256(input)) of `blocks` padded blocks at INPUT (see doubleHashFunctionBody). */
  double(blocks: number): void;
}

const ROUND_CONSTANTS = [
  0x0000000000000001n,
  0x0000000000008082n,
  0x800000000000808an,
  0x8000000080008000n,
  0x000000000000808bn,
  0x0000000080000001n,
  0x8000000080008081n,
  0x8000000000008009n,
  0x000000000000008an,
  0x0000000000000088n,
  0x0000000080008009n,
  0x000000008000000an,
  0x000000008000808bn,
  0x800000000000008bn,
  0x8000000000008089n,
  0x8000000000008003n,
  0x8000000000008002n,
  0x8000000000000080n,
  0x000000000000800an,
  0x800000008000000an,
  0x8000000080008081n,
  0x8000000000008080n,
  0x0000000080000001n,
  0x8000000080008008n,
];

/** Rotation offsets ρ, indexed [x][y] (lane x + 5y). */
const RHO = [
  [0, 36, 3, 41, 18],
  [1, 44, 10, 45, 2],
  [62, 6, 43, 15, 61],
  [28, 55, 25, 21, 56],
  [27, 20, 39, 8, 14],
];

/**
 * `proof(siblings, count)`: from the node at {@link STATE}, for each of `count` 32-byte siblings
 * stored one after another at `siblings`: order the pair (bytewise, as OpenZeppelin's
 * `_hashPair`), write it into the {@link PAIR} block and hash it (absorb), leaving the next node at
 * STATE. One call per proof instead of one per level.
 */
function proofFunctionBody(): number[] {
  const SIB = 0;
  const COUNT = 1;
  const J = 2;
  const DIFF = 3;
  const code: number[] = [];
  const copy = (from: 'state' | 'sibling', to: number) => {
    for (let q = 0; q < 4; q++) {
      code.push(I32_CONST, 0);
      if (from === 'state') code.push(I32_CONST, 0, I64_LOAD, 3, ...uleb(STATE + 8 * q));
      else code.push(LOCAL_GET, SIB, I64_LOAD, 3, ...uleb(8 * q));
      code.push(I64_STORE, 3, ...uleb(to + 8 * q));
    }
  };
  code.push(BLOCK, VOID, LOCAL_GET, COUNT, I32_EQZ, BR_IF, 0);
  code.push(LOOP, VOID); // per level
  code.push(I32_CONST, 0, LOCAL_SET, J);
  code.push(BLOCK, VOID, LOOP, VOID); // first differing byte
  code.push(LOCAL_GET, J, I32_LOAD8_U, 0, ...uleb(STATE));
  code.push(LOCAL_GET, SIB, LOCAL_GET, J, I32_ADD, I32_LOAD8_U, 0, 0);
  code.push(I32_SUB, LOCAL_TEE, DIFF, BR_IF, 1);
  code.push(LOCAL_GET, J, I32_CONST, 1, I32_ADD, LOCAL_TEE, J, I32_CONST, 32, I32_NE, BR_IF, 0, END, END);
  code.push(LOCAL_GET, DIFF, I32_CONST, 0, I32_LE_S, IF, VOID);
  copy('state', PAIR);
  copy('sibling', PAIR + 32);
  code.push(ELSE);
  copy('sibling', PAIR);
  copy('state', PAIR + 32);
  code.push(END);
  code.push(I32_CONST, ...sleb(PAIR), I32_CONST, 1, I32_CONST, 1, CALL, 0);
  code.push(LOCAL_GET, SIB, I32_CONST, 32, I32_ADD, LOCAL_SET, SIB);
  code.push(LOCAL_GET, COUNT, I32_CONST, 1, I32_SUB, LOCAL_TEE, COUNT, BR_IF, 0, END, END, END);
  return [...vec([[2, I32]]), ...code];
}

/**
 * `double(blocks)`: keccak-256 of the padded `blocks` at {@link INPUT}, then keccak-256 of that
 * 32-byte digest (OpenZeppelin's double-hashed leaf), leaving the result at {@link STATE}.
 */
function doubleHashFunctionBody(): number[] {
  const BLOCKS = 0;
  const code: number[] = [I32_CONST, ...sleb(INPUT), LOCAL_GET, BLOCKS, I32_CONST, 1, CALL, 0];
  for (let q = 0; q < 4; q++)
    code.push(
      I32_CONST,
      0,
      I32_CONST,
      0,
      I64_LOAD,
      3,
      ...uleb(STATE + 8 * q),
      I64_STORE,
      3,
      ...uleb(SINGLE + 8 * q),
    );
  code.push(I32_CONST, ...sleb(SINGLE), I32_CONST, 1, I32_CONST, 1, CALL, 0, END);
  return [...vec([]), ...code];
}

/** The module's bytes: one function `absorb(ptr, blocks, reset)`, one exported memory page, the round constants as data. */
export function keccakModuleBytes(): Uint8Array {
  // Locals: params 0 ptr, 1 blocks, 2 reset; 3 round offset; a0..a24, b0..b24, c0..c4, d.
  const PTR = 0;
  const BLOCKS = 1;
  const RESET = 2;
  const R = 3;
  const a = (i: number) => 4 + i;
  const e = (i: number) => 29 + i;
  const c = (i: number) => 54 + i;
  const d = (i: number) => 59 + i;
  const b = (i: number) => 64 + i;
  const code: number[] = [];
  const get = (i: number) => code.push(LOCAL_GET, i);
  const set = (i: number) => code.push(LOCAL_SET, i);
  const load = (offset: number) => code.push(I64_LOAD, 3, ...uleb(offset));

  /**
   * One round from lanes `src` into lanes `dst`, row by row: θ's column parities and D first, then
   * for each output row its five ρπ-rotated inputs and χ, so only five temporaries live at a time.
   */
  const round = (src: (i: number) => number, dst: (i: number) => number, rcOffset: number) => {
    for (let x = 0; x < 5; x++) {
      get(src(x));
      for (let y = 1; y < 5; y++) {
        get(src(x + 5 * y));
        code.push(I64_XOR);
      }
      set(c(x));
    }
    for (let x = 0; x < 5; x++) {
      get(c((x + 4) % 5));
      get(c((x + 1) % 5));
      code.push(I64_CONST, 1, I64_ROTL, I64_XOR);
      set(d(x));
    }
    for (let y = 0; y < 5; y++) {
      // B[x, y] = rotl(A[x', y'] ^ D[x'], r[x'][y']) with x = y', y = 2x' + 3y' (mod 5).
      for (let x = 0; x < 5; x++) {
        const ys = x;
        const xs = ((((y - 3 * ys) % 5) + 5) * 3) % 5;
        get(src(xs + 5 * ys));
        get(d(xs));
        code.push(I64_XOR);
        const r = RHO[xs]![ys]!;
        if (r !== 0) code.push(I64_CONST, ...sleb(r), I64_ROTL);
        set(b(x));
      }
      for (let x = 0; x < 5; x++) {
        get(b(x));
        get(b((x + 1) % 5));
        code.push(I64_CONST, ...sleb(-1), I64_XOR);
        get(b((x + 2) % 5));
        code.push(I64_AND, I64_XOR);
        if (x === 0 && y === 0) {
          // ι
          get(R);
          load(RC_TABLE + rcOffset);
          code.push(I64_XOR);
        }
        set(dst(x + 5 * y));
      }
    }
  };

  // Continue from the stored state unless reset (locals start at zero).
  code.push(LOCAL_GET, RESET, I32_EQZ, IF, VOID);
  for (let i = 0; i < 25; i++) {
    code.push(I32_CONST, 0);
    load(STATE + 8 * i);
    set(a(i));
  }
  code.push(END);

  code.push(LOOP, VOID); // per block
  for (let i = 0; i < RATE / 8; i++) {
    get(a(i));
    get(PTR);
    load(8 * i);
    code.push(I64_XOR);
    set(a(i));
  }
  code.push(I32_CONST, 0);
  set(R);
  code.push(LOOP, VOID); // two rounds per iteration: a → e → a
  round(a, e, 0);
  round(e, a, 8);
  get(R);
  code.push(I32_CONST, 16, I32_ADD, LOCAL_TEE, R, I32_CONST, ...sleb(8 * 24), I32_NE, BR_IF, 0, END);
  // next block
  get(PTR);
  code.push(I32_CONST, ...sleb(RATE), I32_ADD);
  set(PTR);
  get(BLOCKS);
  code.push(I32_CONST, 1, I32_SUB, LOCAL_TEE, BLOCKS, BR_IF, 0, END);
  for (let i = 0; i < 25; i++) {
    code.push(I32_CONST, 0);
    get(a(i));
    code.push(I64_STORE, 3, ...uleb(STATE + 8 * i));
  }
  code.push(END);

  const locals = vec([
    [1, I32],
    [65, I64],
  ]);
  const body = [...locals, ...code];
  const pairBody = proofFunctionBody();
  const doubleBody = doubleHashFunctionBody();
  const rc: number[] = [];
  for (const k of ROUND_CONSTANTS) for (let i = 0n; i < 8n; i++) rc.push(Number((k >> (8n * i)) & 0xffn));
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(
      1,
      vec([
        [0x60, ...vec([[I32], [I32], [I32]]), 0],
        [0x60, ...vec([[I32], [I32]]), 0],
        [0x60, ...vec([[I32]]), 0],
      ]),
    ),
    ...section(3, vec([[0], [1], [2]])),
    ...section(5, vec([[0x00, 1]])),
    ...section(
      7,
      vec([
        [...name('absorb'), 0x00, 0],
        [...name('proof'), 0x00, 1],
        [...name('double'), 0x00, 2],
        [...name('memory'), 0x02, 0],
      ]),
    ),
    ...section(
      10,
      vec([
        [...uleb(body.length), ...body],
        [...uleb(pairBody.length), ...pairBody],
        [...uleb(doubleBody.length), ...doubleBody],
      ]),
    ),
    ...section(11, vec([[0x00, I32_CONST, ...sleb(RC_TABLE), END, ...vec(rc.map((byte) => [byte]))]])),
  ]);
}

/** The synchronous WebAssembly constructors (the project's lib has no WebAssembly typings). */
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: object };
}

let instance: KeccakWasm | null | undefined;

/** The WebAssembly keccak, instantiated synchronously on first use; undefined where WebAssembly is unavailable or refused. */
export function keccakWasm(): KeccakWasm | undefined {
  if (instance === undefined) {
    try {
      const { WebAssembly: wa } = globalThis as unknown as { WebAssembly: WebAssemblyApi };
      const wasm = new wa.Instance(new wa.Module(keccakModuleBytes()));
      const exports = wasm.exports as Omit<KeccakWasm, 'mem'> & { memory: { buffer: ArrayBuffer } };
      const mem = new Uint8Array(exports.memory.buffer);
      // Fixed padding of the one-block inputs (keccak pad10*1 with domain byte 0x01).
      mem[PAIR + 64] = 0x01;
      mem[PAIR + RATE - 1] = 0x80;
      mem[SINGLE + 32] = 0x01;
      mem[SINGLE + RATE - 1] = 0x80;
      instance = { mem, absorb: exports.absorb, proof: exports.proof, double: exports.double };
    } catch {
      instance = null; // no WebAssembly here (CSP, old engine): pure JS
    }
  }
  return instance ?? undefined;
}

/**
 * Injected fault for tests: `true` makes {@link keccakWasm} behave as where WebAssembly is refused
 * (pure JS from then on); `false` lets it instantiate again.
 */
export function refuseKeccakWasmForTesting(refused: boolean): void {
  instance = refused ? null : undefined;
}

/**
 * Pads `length` bytes already written at {@link INPUT} (at most `INPUT_BLOCKS * 136 - 1` bytes)
 * in place and returns the number of blocks.
 */
export function padInput(k: KeccakWasm, length: number): number {
  const blocks = Math.floor(length / RATE) + 1;
  const end = INPUT + blocks * RATE;
  k.mem.fill(0, INPUT + length, end);
  k.mem[INPUT + length] = 0x01;
  k.mem[end - 1]! |= 0x80;
  return blocks;
}

/** keccak-256 of any bytes (copied through the input area in chunks); the digest is left at {@link STATE}. */
export function keccakBytes(k: KeccakWasm, bytes: Uint8Array): void {
  const chunk = INPUT_BLOCKS * RATE;
  let offset = 0;
  let reset = 1;
  // Whole chunks while more than a chunk is left (the last, padded part always fits).
  while (bytes.length - offset >= chunk) {
    k.mem.set(bytes.subarray(offset, offset + chunk), INPUT);
    k.absorb(INPUT, INPUT_BLOCKS, reset);
    reset = 0;
    offset += chunk;
  }
  const rest = bytes.length - offset;
  k.mem.set(bytes.subarray(offset), INPUT);
  const blocks = Math.floor(rest / RATE) + 1;
  const end = INPUT + blocks * RATE;
  k.mem.fill(0, INPUT + rest, end);
  k.mem[INPUT + rest] = 0x01;
  k.mem[end - 1]! |= 0x80;
  k.absorb(INPUT, blocks, reset);
}
