/** A 0x-prefixed lowercase hex string (bytes32 values, hashes, salts). */
export type Hex = `0x${string}`;

const HEX_DIGITS = '0123456789abcdef';
const BYTE_TO_HEX: string[] = Array.from(
  { length: 256 },
  (_, i) => HEX_DIGITS[i >> 4]! + HEX_DIGITS[i & 15]!,
);

/** Lowercase 0x-prefixed hex of the bytes. */
export function toHex(bytes: Uint8Array): Hex {
  let out = '0x';
  for (let i = 0; i < bytes.length; i++) out += BYTE_TO_HEX[bytes[i]!]!;
  return out as Hex;
}

/**
 * Lowercase 0x-prefixed hex of the 32 bytes at `offset` of a WebAssembly memory view (hash
 * results): {@link toHex} without a `subarray` view per digest.
 */
export function memoryHex32(memory: Uint8Array, offset: number): Hex {
  let out = '0x';
  for (let i = offset; i < offset + 32; i++) out += BYTE_TO_HEX[memory[i]!]!;
  return out as Hex;
}

// Byte value by the char codes of its two hex digits, `(a << 7) | b` for ASCII a and b (-1: not a
// pair of hex digits): one table lookup per byte is the fastest parse here (proof checks parse ~12
// nodes per record).
const HEX_PAIR = new Int16Array(1 << 14).fill(-1);
{
  const digits = '0123456789abcdefABCDEF';
  const value = (i: number) => (i < 16 ? i : i - 6);
  for (let i = 0; i < digits.length; i++) {
    for (let j = 0; j < digits.length; j++)
      HEX_PAIR[(digits.charCodeAt(i) << 7) | digits.charCodeAt(j)] = (value(i) << 4) | value(j);
  }
}

/**
 * Parses `bytes` bytes of hex digits from `hex` at `start` into `out` at `offset`; false on a
 * non-hex digit (the caller checks lengths). The hot path of leaf encoding and proof checks.
 */
export function parseHexInto(
  out: Uint8Array,
  offset: number,
  hex: string,
  start: number,
  bytes: number,
): boolean {
  for (let i = 0; i < bytes; i++) {
    // charCodeAt past the end is NaN, which `|` and `<<` turn into 0: no hex digit.
    const a = hex.charCodeAt(start + 2 * i);
    const b = hex.charCodeAt(start + 2 * i + 1);
    if ((a | b) > 0x7f) return false;
    const value = HEX_PAIR[(a << 7) | b]!;
    if (value < 0) return false;
    out[offset + i] = value;
  }
  return true;
}

/**
 * Whether the 32 bytes at `offset` of a WebAssembly memory view equal the 0x-prefixed hex `hex`
 * (either case): a digest compared without making its hex.
 */
export function memoryEqualsHex32(memory: Uint8Array, offset: number, hex: string): boolean {
  if (hex.length !== 66) return false;
  for (let i = 0; i < 32; i++) {
    const a = hex.charCodeAt(2 + 2 * i);
    const b = hex.charCodeAt(3 + 2 * i);
    if ((a | b) > 0x7f || HEX_PAIR[(a << 7) | b] !== memory[offset + i]) return false;
  }
  return true;
}

/** Bytes of a hex string (with or without 0x); throws on odd length or a non-hex digit. */
export function fromHex(hex: string): Uint8Array {
  const start = hex.startsWith('0x') || hex.startsWith('0X') ? 2 : 0;
  const length = hex.length - start;
  if (length % 2 !== 0) throw new TypeError(`hex string has an odd number of digits: ${hex.slice(0, 20)}…`);
  const out = new Uint8Array(length / 2);
  if (!parseHexInto(out, 0, hex, start, out.length))
    throw new TypeError(`not a hex string: ${hex.slice(0, 20)}…`);
  return out;
}

/** True for a 0x-prefixed hex string of exactly `bytes` bytes (any case). */
export function isHex(value: unknown, bytes?: number): value is Hex {
  if (typeof value !== 'string' || !/^0x[0-9a-fA-F]*$/.test(value) || value.length % 2 !== 0) return false;
  return bytes === undefined || value.length === 2 + 2 * bytes;
}

/** Concatenates byte arrays. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Constant-time-ish equality of two byte arrays (length leaks, contents do not). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** The bytes as an ArrayBuffer-backed view WebCrypto accepts under TS's strict BufferSource typing. */
export function bufferSource(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes);
}

/** WebCrypto's CryptoKey as a type, without the DOM lib (in Node's typings the global is value-only). */
export type CryptoKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;
