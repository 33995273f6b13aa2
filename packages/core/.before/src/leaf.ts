import { bufferSource, memoryHex32, parseHexInto, toHex, type CryptoKey, type Hex } from './hex.js';
import { keccak256 } from './keccak.js';
import { INPUT, INPUT_BLOCKS, keccakWasm, padInput, RATE, STATE } from './keccak-wasm.js';

/**
 * What a record leaf commits to. All fields are public once anchored, so none may be PHI:
 * `subject` is a keyed pseudonym of the patient, `salt` makes leaves impossible to guess.
 */
export interface LeafInput {
  /** {@link pseudonym} of the patient's logical id under the hospital's pseudonym key (bytes32). */
  subject: Hex;
  /** FHIR resource type, e.g. `Observation`. */
  resourceType: string;
  /** FHIR logical id on the hospital's server. */
  resourceId: string;
  /** FHIR `meta.versionId` of this version. */
  versionId: string;
  /** {@link contentHash} of the resource (bytes32). */
  contentHash: Hex;
  /** CID of the envelope (ciphertext) on IPFS. */
  payloadCid: string;
  /** 32 random bytes, {@link randomSalt}. */
  salt: Hex;
}

/** Field order of a leaf, as names. */
export const LEAF_FIELDS = [
  'subject',
  'resourceType',
  'resourceId',
  'versionId',
  'contentHash',
  'payloadCid',
  'salt',
] as const;

/** Solidity ABI types of a leaf, in {@link LEAF_FIELDS} order: the `leafEncoding` of `StandardMerkleTree.of`. */
export const LEAF_TYPES = ['bytes32', 'string', 'string', 'string', 'bytes32', 'string', 'bytes32'] as const;

/** A leaf as the tuple `StandardMerkleTree.of(values, LEAF_TYPES)` and `abi.encode` take. */
export type LeafTuple = [Hex, string, string, string, Hex, string, Hex];

/** The leaf's values in {@link LEAF_TYPES} order. */
export function leafTuple(leaf: LeafInput): LeafTuple {
  return [
    leaf.subject,
    leaf.resourceType,
    leaf.resourceId,
    leaf.versionId,
    leaf.contentHash,
    leaf.payloadCid,
    leaf.salt,
  ];
}

const encoder = new TextEncoder();

/** Parses a 0x-prefixed 32-byte hex field straight into `out` (no intermediate arrays: this is hot). */
function writeBytes32(out: Uint8Array, offset: number, name: string, value: unknown): void {
  if (
    typeof value !== 'string' ||
    value.length !== 66 ||
    value.charCodeAt(0) !== 48 ||
    (value.charCodeAt(1) | 0x20) !== 120 ||
    !parseHexInto(out, offset, value, 2, 32)
  ) {
    throw new TypeError(`leaf.${name} must be a 0x-prefixed 32-byte hex string`);
  }
}

/** UTF-8 of a string field; ASCII (ids, types, CIDs) is copied without TextEncoder's call overhead. */
function utf8(name: string, value: unknown): string | Uint8Array {
  if (typeof value !== 'string') throw new TypeError(`leaf.${name} must be a string`);
  for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) > 0x7f) return encoder.encode(value);
  return value; // ASCII: one byte per char
}

function writeUint(out: Uint8Array, offset: number, value: number): void {
  // Lengths and offsets here are far below 2^32; the rest of the 32-byte word stays zero.
  out[offset + 28] = (value >>> 24) & 0xff;
  out[offset + 29] = (value >>> 16) & 0xff;
  out[offset + 30] = (value >>> 8) & 0xff;
  out[offset + 31] = value & 0xff;
}

const padded = (n: number) => Math.ceil(n / 32) * 32;

/** The leaf's four string fields (ASCII as the string itself, else UTF-8 bytes) and its encoded size. */
function leafStrings(leaf: LeafInput): { strings: (string | Uint8Array)[]; size: number } {
  const strings = [
    utf8('resourceType', leaf.resourceType),
    utf8('resourceId', leaf.resourceId),
    utf8('versionId', leaf.versionId),
    utf8('payloadCid', leaf.payloadCid),
  ];
  let size = 32 * LEAF_TYPES.length;
  for (const s of strings) size += 32 + padded(s.length);
  return { strings, size };
}

// Head slots 1, 2, 3 and 5 hold the strings' offsets (LEAF_TYPES order).
const STRING_SLOTS = [1, 2, 3, 5];

/** Writes the encoding into `out` at `base`; the `size` bytes there must be zero. */
function writeLeaf(leaf: LeafInput, strings: (string | Uint8Array)[], out: Uint8Array, base: number): void {
  writeBytes32(out, base, 'subject', leaf.subject);
  writeBytes32(out, base + 4 * 32, 'contentHash', leaf.contentHash);
  writeBytes32(out, base + 6 * 32, 'salt', leaf.salt);
  let tail = 32 * LEAF_TYPES.length;
  for (let k = 0; k < strings.length; k++) {
    const field = strings[k]!;
    writeUint(out, base + 32 * STRING_SLOTS[k]!, tail);
    writeUint(out, base + tail, field.length);
    const at = base + tail + 32;
    if (typeof field === 'string') {
      for (let i = 0; i < field.length; i++) out[at + i] = field.charCodeAt(i);
    } else {
      out.set(field, at);
    }
    tail += 32 + padded(field.length);
  }
}

/**
 * Solidity `abi.encode(subject, resourceType, resourceId, versionId, contentHash, payloadCid, salt)`:
 * seven head words (bytes32 in place, strings as offsets), then each string as length + data
 * padded to a whole word. Cross-checked against ethers' AbiCoder and OpenZeppelin in the tests.
 */
export function encodeLeaf(leaf: LeafInput): Uint8Array {
  const { strings, size } = leafStrings(leaf);
  // Written where leafHash writes it (WebAssembly memory, when running) and copied out: the bytes
  // encodeLeaf returns are the bytes leafHash hashes, by one code path.
  const k = keccakWasm();
  if (k && size < INPUT_BLOCKS * RATE) {
    k.mem.fill(0, INPUT, INPUT + size);
    writeLeaf(leaf, strings, k.mem, INPUT);
    return k.mem.slice(INPUT, INPUT + size);
  }
  const out = new Uint8Array(size);
  writeLeaf(leaf, strings, out, 0);
  return out;
}

/**
 * Computes the leaf hash into the WebAssembly keccak's state (its first 32 bytes) and returns true;
 * false when WebAssembly is unavailable or the leaf does not fit its input area. The encoding is
 * written straight into WebAssembly memory: no intermediate arrays on the verification hot path.
 */
export function leafHashToState(leaf: LeafInput): boolean {
  const k = keccakWasm();
  if (!k) return false;
  const { strings, size } = leafStrings(leaf);
  if (size >= INPUT_BLOCKS * RATE) return false;
  const mem = k.mem;
  mem.fill(0, INPUT, INPUT + size);
  writeLeaf(leaf, strings, mem, INPUT);
  k.double(padInput(k, size)); // both hashes in one call
  return true;
}

/**
 * The leaf hash exactly as OpenZeppelin's StandardMerkleTree computes it and `MerkleProof.verify`
 * expects it: `keccak256(bytes.concat(keccak256(abi.encode(...leaf))))`. The double hash keeps a
 * 64-byte leaf preimage from ever being mistaken for an inner node.
 */
export function leafHash(leaf: LeafInput): Hex {
  if (leafHashToState(leaf)) return memoryHex32(keccakWasm()!.mem, STATE);
  return toHex(keccak256(keccak256(encodeLeaf(leaf))));
}

/** 32 random bytes from WebCrypto, for {@link LeafInput.salt}. */
export function randomSalt(): Hex {
  return toHex(crypto.getRandomValues(new Uint8Array(32)));
}

/** 32 random bytes suitable as a hospital's pseudonym key. */
export function generatePseudonymKey(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(32));
}

const hmacKeys = new WeakMap<Uint8Array, Promise<CryptoKey>>();

function hmacKey(key: Uint8Array | CryptoKey): Promise<CryptoKey> {
  if (!(key instanceof Uint8Array)) return Promise.resolve(key);
  let cached = hmacKeys.get(key);
  if (!cached) {
    if (key.length < 32) throw new TypeError('a pseudonym key must have at least 32 bytes');
    cached = crypto.subtle.importKey('raw', bufferSource(key), { name: 'HMAC', hash: 'SHA-256' }, false, [
      'sign',
    ]);
    hmacKeys.set(key, cached);
  }
  return cached;
}

/**
 * The patient's pseudonym for {@link LeafInput.subject}: HMAC-SHA-256 of the UTF-8 logical id under
 * the hospital's pseudonym key. Stable per hospital, unlinkable across hospitals, and useless to a
 * dictionary attack without the key.
 */
export async function pseudonym(patientId: string, key: Uint8Array | CryptoKey): Promise<Hex> {
  if (typeof patientId !== 'string' || patientId === '')
    throw new TypeError('patientId must be a non-empty string');
  const mac = await crypto.subtle.sign('HMAC', await hmacKey(key), encoder.encode(patientId));
  return toHex(new Uint8Array(mac));
}
