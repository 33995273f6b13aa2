/*
 * RFC 8785 (JCS) canonical JSON of plain JSON data in one pass, written as UTF-8 straight into a
 * byte area: the WebAssembly SHA-256's input area (hashed as it fills, so a content hash needs no
 * copy, no string and no TextEncoder call) or a scratch area copied out as bytes.
 *
 * What it writes is what RFC 8785's own ECMAScript recipe gives (sections 3.2.2-3.2.3, appendix A):
 * object keys sorted by UTF-16 code units, numbers and escaped strings serialized by the engine's
 * `JSON.stringify` of the primitive (its number output IS the one JCS specifies; nothing here
 * formats numbers), and UTF-8 of the result. The common string — no character JSON escapes — is
 * encoded directly; one that needs escapes is written as `JSON.stringify(string)`. Anything
 * outside plain JSON data (toJSON, class instances, boxed values, non-finite numbers, lone
 * surrogates, `__proto__` keys, cycles, nesting deeper than the stack) throws {@link UNUSUAL} or a
 * RangeError, and the caller hands the value to the `canonicalize` package instead. Cross-checked
 * against that package on every vector, every fixture resource and property tests.
 */
import { concatBytes } from './hex.js';
import { INPUT, INPUT_BLOCKS, sha256Begin, sha256Finish, type Sha256Wasm } from './sha256-wasm.js';

/** Thrown for a value outside plain JSON data: the caller falls back to the `canonicalize` package. */
export const UNUSUAL = Symbol('unusual');

// The area being written: bytes [start, pos) are pending; a write of up to 4 bytes at pos is safe
// while pos <= limit, else flush() makes room (hashing or copying out what is pending).
let buf: Uint8Array = new Uint8Array(0);
let start = 0;
let pos = 0;
let limit = 0;
let flush: () => void = () => {};
/** True while writing: a getter that re-enters the writer is sent down the library path instead. */
let busy = false;

// Hash mode: whole 64-byte blocks are compressed as the area fills; `hashed` counts them.
let sha: Sha256Wasm | undefined;
let hashed = 0;
const HASH_AREA = INPUT_BLOCKS * 64;

function flushHash(): void {
  const blocks = (pos - start) >>> 6;
  if (blocks === 0) return;
  sha!.compress(start, blocks);
  hashed += blocks * 64;
  buf.copyWithin(start, start + blocks * 64, pos);
  pos -= blocks * 64;
}

// Bytes mode: what is pending is copied out into `chunks` as the area fills.
let chunks: Uint8Array[] = [];
const scratch = new Uint8Array(64 * 1024);

function flushBytes(): void {
  chunks.push(buf.slice(start, pos));
  pos = start;
}

/** Whether the writer may run now (false while it is already running: a getter called back in). */
export function writerFree(): boolean {
  return !busy;
}

/**
 * Writes the canonical JSON of `resource` (top-level `meta` and `text` left out) through the
 * WebAssembly SHA-256 and leaves its digest at the module's DIGEST. Throws {@link UNUSUAL} or a
 * RangeError for values it leaves to the library (the hash state is then meaningless).
 */
export function hashCanonical(s: Sha256Wasm, resource: object): void {
  busy = true;
  try {
    sha = s;
    buf = s.mem;
    start = INPUT;
    pos = INPUT;
    limit = INPUT + HASH_AREA - 4;
    flush = flushHash;
    hashed = 0;
    sha256Begin(s);
    writeObject(resource, true);
    // The padding needs up to 72 bytes after the rest of the message.
    if (pos - start > HASH_AREA - 72) flushHash();
    sha256Finish(s, pos - start, hashed + pos - start);
  } finally {
    busy = false;
  }
}

/**
 * The canonical JSON of `resource` (top-level `meta` and `text` left out) as UTF-8 bytes, written
 * in `area` (the WebAssembly SHA-256's input area, so that the writer's code only ever sees one kind
 * of buffer; or undefined for a scratch array where WebAssembly is refused). Throws like {@link hashCanonical}.
 */
export function canonicalBytes(resource: object, area: Uint8Array | undefined): Uint8Array {
  busy = true;
  try {
    if (area) {
      buf = area;
      start = INPUT;
      limit = INPUT + HASH_AREA - 4;
    } else {
      buf = scratch;
      start = 0;
      limit = scratch.length - 4;
    }
    pos = start;
    flush = flushBytes;
    chunks = [];
    writeObject(resource, true);
    if (chunks.length === 0) return buf.slice(start, pos);
    flushBytes();
    return concatBytes(...chunks);
  } finally {
    chunks = [];
    busy = false;
  }
}

function writeValue(value: unknown): void {
  switch (typeof value) {
    case 'string':
      writeString(value);
      return;
    case 'number':
      writeNumber(value);
      return;
    case 'boolean':
      if (pos > limit - 4) flush();
      if (value) writeAscii4(0x74, 0x72, 0x75, 0x65);
      else {
        writeAscii4(0x66, 0x61, 0x6c, 0x73);
        buf[pos++] = 0x65;
      }
      return;
    case 'object':
      if (value === null) {
        if (pos > limit) flush();
        writeAscii4(0x6e, 0x75, 0x6c, 0x6c);
      } else if (Array.isArray(value)) writeArray(value);
      else writeObject(value, false);
      return;
    default:
      throw UNUSUAL; // bigint (JSON.stringify throws), or undefined/function/symbol at a place the callers exclude
  }
}

function writeAscii4(a: number, b: number, c: number, d: number): void {
  const m = buf;
  m[pos] = a;
  m[pos + 1] = b;
  m[pos + 2] = c;
  m[pos + 3] = d;
  pos += 4;
}

function writeByte(byte: number): void {
  if (pos > limit) flush();
  buf[pos++] = byte;
}

/** A finite number as the engine's JSON.stringify writes it (RFC 8785 section 3.2.2.3 is exactly that). */
function writeNumber(value: number): void {
  if (!Number.isFinite(value)) throw UNUSUAL; // JSON.stringify would write null; JCS rejects them
  const text = JSON.stringify(value);
  if (pos + text.length > limit) flush();
  const m = buf;
  let p = pos;
  for (let i = 0; i < text.length; i++) m[p++] = text.charCodeAt(i);
  pos = p;
}

function writeArray(value: unknown[]): void {
  if (Object.getPrototypeOf(value) !== Array.prototype || 'toJSON' in value) throw UNUSUAL;
  writeByte(0x5b); // [
  for (let i = 0; i < value.length; i++) {
    if (i > 0) writeByte(0x2c); // ,
    const item: unknown = value[i];
    // JSON.stringify writes null for these inside arrays.
    if (item === undefined || typeof item === 'function' || typeof item === 'symbol') {
      if (pos > limit) flush();
      writeAscii4(0x6e, 0x75, 0x6c, 0x6c);
    } else writeValue(item);
  }
  writeByte(0x5d); // ]
}

function writeObject(value: object, topLevel: boolean): void {
  if (
    Object.getPrototypeOf(value) !== Object.prototype ||
    typeof (value as { toJSON?: unknown }).toJSON === 'function'
  )
    throw UNUSUAL;
  const keys = Object.keys(value);
  // One builtin call for all values (same order as the keys) instead of a property lookup per key:
  // with FHIR's many object shapes each `value[key]` would be a megamorphic lookup.
  const values = Object.values(value);
  if (values.length !== keys.length) throw UNUSUAL; // a getter added or removed members
  const shape = shapeOf(keys);
  const order = shape.order;
  const encoded = shape.encoded;
  writeByte(0x7b); // {
  let first = true;
  for (let j = 0; j < keys.length; j++) {
    if (topLevel && shape.topLevelSkip[j] === 1) continue;
    const item: unknown = values[order === undefined ? j : order[j]!];
    // JSON.stringify leaves these members out.
    if (item === undefined || typeof item === 'function' || typeof item === 'symbol') continue;
    // `,"key":` from the shape's UTF-8 of the key, written in one go.
    const bytes = encoded[j]!;
    if (pos + bytes.length + 1 > limit) flush();
    const m = buf;
    let p = pos;
    if (first) first = false;
    else m[p++] = 0x2c;
    for (let i = 0; i < bytes.length; i++) m[p++] = bytes[i]!;
    pos = p;
    writeValue(item);
  }
  writeByte(0x7d); // }
}

/**
 * A key sequence (as Object.keys lists it): the positions that put it in JCS order (undefined when
 * in order already), and for each key in that order its UTF-8 `"key":` text.
 */
interface Shape {
  keys: string[];
  order: Int32Array | undefined;
  encoded: Uint8Array[];
  /** 1 at the (ordered) positions of `meta` and `text`, which the top level leaves out. */
  topLevelSkip: Uint8Array;
}

/**
 * Object shapes seen, by first key: FHIR data has few (1,000 Synthea resources: ~17,000 objects, 100
 * key sequences), so an object's key order and key text are usually found by comparing its keys
 * with a known sequence instead of sorting and encoding strings again. Bounded; cleared when full.
 */
const shapes = new Map<string, Shape[]>();
let shapeCount = 0;
const MAX_SHAPES = 4096;
const EMPTY: Shape = { keys: [], order: undefined, encoded: [], topLevelSkip: new Uint8Array(0) };
const keyEncoder = new TextEncoder();

function shapeOf(keys: string[]): Shape {
  const n = keys.length;
  if (n === 0) return EMPTY;
  const known = shapes.get(keys[0]!);
  if (known !== undefined) {
    for (let s = 0; s < known.length; s++) {
      const shape = known[s]!;
      const other = shape.keys;
      if (other.length !== n) continue;
      let j = 1;
      while (j < n && other[j] === keys[j]) j++;
      if (j === n) return shape;
    }
  }
  const shape = newShape(keys); // a fresh array from Object.keys, never changed
  if (shapeCount >= MAX_SHAPES) {
    shapes.clear();
    shapeCount = 0;
  }
  const list = shapes.get(keys[0]!);
  if (list !== undefined) list.push(shape);
  else shapes.set(keys[0]!, [shape]);
  shapeCount++;
  return shape;
}

/**
 * Sorts by UTF-16 code units (JCS's property order; what `<` on strings compares) and encodes each
 * key as the engine's JSON.stringify writes it, in UTF-8. Throws UNUSUAL for a `__proto__` key or a
 * lone surrogate (the library decides).
 */
function newShape(keys: string[]): Shape {
  const n = keys.length;
  const order = new Int32Array(n);
  let inOrder = true;
  for (let i = 0; i < n; i++) {
    if (keys[i] === '__proto__') throw UNUSUAL;
    order[i] = i;
    if (i > 0 && keys[i - 1]! > keys[i]!) inOrder = false;
  }
  if (!inOrder) {
    const sorted = Array.from(order).sort((a, b) => (keys[a]! < keys[b]! ? -1 : keys[a]! > keys[b]! ? 1 : 0));
    order.set(sorted);
  }
  const encoded: Uint8Array[] = [];
  const topLevelSkip = new Uint8Array(n);
  for (let j = 0; j < n; j++) {
    const key = keys[order[j]!]!;
    const json = JSON.stringify(key);
    // A lone surrogate comes out as `\udXXX` (see writeEscaped).
    if (json.indexOf('\\ud') !== -1) throw UNUSUAL;
    const bytes = keyEncoder.encode(`${json}:`);
    if (bytes.length > 4096) throw UNUSUAL; // written in one go: must fit the area with room to spare
    encoded.push(bytes);
    if (key === 'meta' || key === 'text') topLevelSkip[j] = 1;
  }
  return { keys, order: inOrder ? undefined : order, encoded, topLevelSkip };
}

/**
 * A string as JSON text in UTF-8. Without characters JSON escapes (`"`, `\`, controls) — nearly
 * every FHIR string — it is quoted and encoded here in one loop; otherwise the engine's
 * JSON.stringify escapes it. Lone surrogates (not representable in UTF-8; JCS rejects them) throw
 * UNUSUAL so the library decides.
 */
function writeString(value: string): void {
  const n = value.length;
  if (pos + 3 * n + 2 > limit) {
    flush();
    if (pos + 3 * n + 2 > limit) {
      writeLongString(value);
      return;
    }
  }
  const m = buf;
  let p = pos;
  m[p++] = 0x22;
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x80) {
      if (c < 0x20 || c === 0x22 || c === 0x5c) {
        writeEscaped(value); // nothing was committed: pos is still where the string starts
        return;
      }
      m[p++] = c;
    } else if (c < 0x800) {
      m[p++] = 0xc0 | (c >> 6);
      m[p++] = 0x80 | (c & 0x3f);
    } else if (c < 0xd800 || c > 0xdfff) {
      m[p++] = 0xe0 | (c >> 12);
      m[p++] = 0x80 | ((c >> 6) & 0x3f);
      m[p++] = 0x80 | (c & 0x3f);
    } else {
      const low = c < 0xdc00 ? value.charCodeAt(i + 1) : NaN; // NaN past the end
      if (!(low >= 0xdc00 && low <= 0xdfff)) throw UNUSUAL; // lone surrogate
      const cp = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
      m[p++] = 0xf0 | (cp >> 18);
      m[p++] = 0x80 | ((cp >> 12) & 0x3f);
      m[p++] = 0x80 | ((cp >> 6) & 0x3f);
      m[p++] = 0x80 | (cp & 0x3f);
      i++;
    }
  }
  m[p++] = 0x22;
  pos = p;
}

/** A string with characters JSON escapes: the engine's JSON.stringify of it, in UTF-8. */
function writeEscaped(value: string): void {
  const json = JSON.stringify(value);
  // JSON.stringify writes a lone surrogate as the escape `\udXXX`; a hit (or an escaped backslash
  // before literal "ud" text) goes to the library, which rejects the one and agrees on the other.
  if (json.indexOf('\\ud') !== -1) throw UNUSUAL;
  writeText(json);
}

/** A string too long for the area at once: checked for escapes, then written with room made as it goes. */
function writeLongString(value: string): void {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c) {
      writeEscaped(value);
      return;
    }
  }
  writeByte(0x22);
  writeText(value);
  writeByte(0x22);
}

/** Any text as UTF-8, making room as it goes; lone surrogates throw UNUSUAL. */
function writeText(text: string): void {
  const n = text.length;
  const m = buf;
  let p = pos;
  for (let i = 0; i < n; i++) {
    if (p > limit) {
      pos = p;
      flush();
      p = pos;
    }
    const c = text.charCodeAt(i);
    if (c < 0x80) m[p++] = c;
    else if (c < 0x800) {
      m[p++] = 0xc0 | (c >> 6);
      m[p++] = 0x80 | (c & 0x3f);
    } else if (c < 0xd800 || c > 0xdfff) {
      m[p++] = 0xe0 | (c >> 12);
      m[p++] = 0x80 | ((c >> 6) & 0x3f);
      m[p++] = 0x80 | (c & 0x3f);
    } else {
      const low = c < 0xdc00 ? text.charCodeAt(i + 1) : NaN;
      if (!(low >= 0xdc00 && low <= 0xdfff)) throw UNUSUAL;
      const cp = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
      m[p++] = 0xf0 | (cp >> 18);
      m[p++] = 0x80 | ((cp >> 12) & 0x3f);
      m[p++] = 0x80 | ((cp >> 6) & 0x3f);
      m[p++] = 0x80 | (cp & 0x3f);
      i++;
    }
  }
  pos = p;
}
