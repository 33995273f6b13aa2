import { bufferSource, fromHex, isHex, toHex, type CryptoKey, type Hex } from './hex.js';
import { keccak256 } from './keccak.js';

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
export const LEAF_FIELDS = ['subject', 'resourceType', 'resourceId', 'versionId', 'contentHash', 'payloadCid', 'salt'] as const;

/** Solidity ABI types of a leaf, in {@link LEAF_FIELDS} order: the `leafEncoding` of `StandardMerkleTree.of`. */
export const LEAF_TYPES = ['bytes32', 'string', 'string', 'string', 'bytes32', 'string', 'bytes32'] as const;

/** A leaf as the tuple `StandardMerkleTree.of(values, LEAF_TYPES)` and `abi.encode` take. */
export type LeafTuple = [Hex, string, string, string, Hex, string, Hex];

/** The leaf's values in {@link LEAF_TYPES} order. */
export function leafTuple(leaf: LeafInput): LeafTuple {
  return [leaf.subject, leaf.resourceType, leaf.resourceId, leaf.versionId, leaf.contentHash, leaf.payloadCid, leaf.salt];
}

const encoder = new TextEncoder();

function bytes32(name: string, value: unknown): Uint8Array {
  if (!isHex(value, 32)) throw new TypeError(`leaf.${name} must be a 0x-prefixed 32-byte hex string`);
  return fromHex(value);
}

function text(name: string, value: unknown): Uint8Array {
  if (typeof value !== 'string') throw new TypeError(`leaf.${name} must be a string`);
  return encoder.encode(value);
}

function writeUint(out: Uint8Array, offset: number, value: number): void {
  // Lengths and offsets here are far below 2^32; the rest of the 32-byte word stays zero.
  out[offset + 28] = (value >>> 24) & 0xff;
  out[offset + 29] = (value >>> 16) & 0xff;
  out[offset + 30] = (value >>> 8) & 0xff;
  out[offset + 31] = value & 0xff;
}

/**
 * Solidity `abi.encode(subject, resourceType, resourceId, versionId, contentHash, payloadCid, salt)`:
 * seven head words (bytes32 in place, strings as offsets), then each string as length + data
 * padded to a whole word.
 */
export function encodeLeaf(leaf: LeafInput): Uint8Array {
  const fields: Uint8Array[] = [
    bytes32('subject', leaf.subject),
    text('resourceType', leaf.resourceType),
    text('resourceId', leaf.resourceId),
    text('versionId', leaf.versionId),
    bytes32('contentHash', leaf.contentHash),
    text('payloadCid', leaf.payloadCid),
    bytes32('salt', leaf.salt),
  ];
  let size = 32 * LEAF_TYPES.length;
  for (let i = 0; i < fields.length; i++) {
    if (LEAF_TYPES[i] === 'string') size += 32 + Math.ceil(fields[i]!.length / 32) * 32;
  }
  const out = new Uint8Array(size);
  let tail = 32 * LEAF_TYPES.length;
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i]!;
    if (LEAF_TYPES[i] === 'bytes32') {
      out.set(field, 32 * i);
    } else {
      writeUint(out, 32 * i, tail);
      writeUint(out, tail, field.length);
      out.set(field, tail + 32);
      tail += 32 + Math.ceil(field.length / 32) * 32;
    }
  }
  return out;
}

/**
 * The leaf hash exactly as OpenZeppelin's StandardMerkleTree computes it and `MerkleProof.verify`
 * expects it: `keccak256(bytes.concat(keccak256(abi.encode(...leaf))))`. The double hash keeps a
 * 64-byte leaf preimage from ever being mistaken for an inner node.
 */
export function leafHash(leaf: LeafInput): Hex {
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
    cached = crypto.subtle.importKey('raw', bufferSource(key), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
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
  if (typeof patientId !== 'string' || patientId === '') throw new TypeError('patientId must be a non-empty string');
  const mac = await crypto.subtle.sign('HMAC', await hmacKey(key), encoder.encode(patientId));
  return toHex(new Uint8Array(mac));
}
