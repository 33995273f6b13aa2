/**
 * Hot-path crypto on node:crypto (synchronous, native) instead of WebCrypto, whose per-call promise
 * and job overhead dominated the profile (~30 µs per operation, ~9 operations per record).
 * Same bytes as packages/core — the tests check every function here against core's own:
 *
 * - `sha256Hex(canonicalize(r))` = core `contentHash(r)`; `pseudonymFast` = core `pseudonym`;
 *   `rawCidFast` = core `rawCid`.
 * - `sealForHospital` writes core's envelope format v1 (see packages/core/src/envelope.ts) with a
 *   single kind-1 (symmetric hospital key) recipient; `openEnvelope` from core opens it. Envelopes
 *   with extra HPKE recipients go through core's `sealEnvelope`.
 *
 * Keys go to node:crypto as `KeyObject`s: handing it raw bytes costs more than the cipher itself
 * (~13 µs per call to wrap them, measured with bench/stages.ts), so long-lived keys are wrapped
 * once and cached, and random bytes are drawn from a pool refilled 64 KiB at a time.
 */
import {
  createCipheriv,
  createHash,
  createHmac,
  createSecretKey,
  hkdfSync,
  randomBytes,
  randomFillSync,
  type KeyObject,
} from 'node:crypto';
import { canonicalJson, fromHex, type Hex, type HospitalKey } from '@ehr-anchor/core';
import { CID } from 'multiformats/cid';
import * as Digest from 'multiformats/hashes/digest';

const MAGIC = Buffer.from('EHRE', 'latin1');
const WRAP_INFO = Buffer.from('ehr-anchor envelope v1 key wrap', 'utf8');
const HKDF_INFO = Buffer.from('ehr-anchor envelope v1 keys', 'utf8');
const RAW_CODEC = 0x55;
const SHA2_256 = 0x12;

export function sha256Hex(bytes: Uint8Array): Hex {
  return `0x${createHash('sha256').update(bytes).digest('hex')}`;
}

/** core `contentHash`: sha256 of the canonical bytes (the canonical text hashed as UTF-8, no copy). */
export function contentHashFast(resource: unknown): Hex {
  return `0x${createHash('sha256').update(canonicalJson(resource), 'utf8').digest('hex')}`;
}

const keyObjects = new WeakMap<Uint8Array, KeyObject>();

/** The cached `KeyObject` of a long-lived secret (pseudonym key, hospital key). */
function keyObject(secret: Uint8Array): KeyObject {
  let k = keyObjects.get(secret);
  if (!k) {
    k = createSecretKey(secret);
    keyObjects.set(secret, k);
  }
  return k;
}

const POOL_SIZE = 64 * 1024;
let pool = Buffer.alloc(0);
let poolAt = 0;

/** `n` fresh random bytes (a copy, never shared) from a pool of CSPRNG output. */
export function randomBytesPooled(n: number): Buffer {
  if (n > POOL_SIZE / 4) return randomBytes(n);
  if (poolAt + n > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafe(POOL_SIZE));
    poolAt = 0;
  }
  const out = Buffer.from(pool.subarray(poolAt, poolAt + n));
  // Bytes handed out are wiped from the pool, so no later reader of the pool can see them.
  pool.fill(0, poolAt, poolAt + n);
  poolAt += n;
  return out;
}

/** core `randomSalt`: 32 random bytes as 0x-hex. */
export function randomSaltFast(): Hex {
  return `0x${randomBytesPooled(32).toString('hex')}`;
}

const pseudonyms = new WeakMap<Uint8Array, Map<string, Hex>>();
const PSEUDONYM_CACHE = 4096;

/**
 * core `pseudonym`: HMAC-SHA-256 of the UTF-8 patient id under the pseudonym key. The resources of
 * one push mostly belong to one patient, so recent results are kept (at most 4,096 per key; the
 * cache starts over when full — bounded memory, no per-record growth).
 */
export function pseudonymFast(patientId: string, key: Uint8Array): Hex {
  if (key.length < 32) throw new TypeError('a pseudonym key must have at least 32 bytes');
  let cache = pseudonyms.get(key);
  if (!cache) {
    cache = new Map();
    pseudonyms.set(key, cache);
  }
  let value = cache.get(patientId);
  if (value === undefined) {
    value = `0x${createHmac('sha256', keyObject(key)).update(patientId, 'utf8').digest('hex')}`;
    if (cache.size >= PSEUDONYM_CACHE) cache.clear();
    cache.set(patientId, value);
  }
  return value;
}

/** core `rawCid`: CIDv1, raw codec, sha2-256. */
export function rawCidFast(bytes: Uint8Array): CID {
  return CID.createV1(RAW_CODEC, Digest.create(SHA2_256, createHash('sha256').update(bytes).digest()));
}

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/**
 * A CIDv1's string form (`b` + RFC 4648 base32, lower case, no padding) — what `cid.toString()`
 * gives, at a fraction of multiformats' generic encoder's cost (~6 µs per CID).
 */
export function cidV1String(cid: CID): string {
  if (cid.version !== 1) return cid.toString();
  const bytes = cid.bytes;
  let out = 'b';
  let buffer = 0;
  let bits = 0;
  for (let i = 0; i < bytes.length; i++) {
    buffer = ((buffer << 8) | bytes[i]!) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += BASE32[(buffer >>> bits) & 31];
    }
  }
  if (bits > 0) out += BASE32[(buffer << (5 - bits)) & 31];
  return out;
}

function gcm(key: KeyObject, iv: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Buffer {
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad);
  return Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

const keyIdBytes = new WeakMap<HospitalKey, Buffer>();

/** core `sealEnvelope({ plaintext, aad, recipients: [key] })`, synchronously. */
export function sealForHospital(plaintext: Uint8Array, aad: string, key: HospitalKey): Uint8Array {
  let id = keyIdBytes.get(key);
  if (!id) {
    id = Buffer.from(fromHex(key.keyId.toLowerCase() as Hex));
    if (id.length < 1 || id.length > 64) throw new TypeError('keyId must be 1..64 bytes');
    keyIdBytes.set(key, id);
  }
  const aadBytes = Buffer.from(aad, 'utf8');
  const random = randomBytesPooled(32 + 12 + 12);
  const dataKey = random.subarray(0, 32);
  const nonce = random.subarray(32, 44);
  const wrapIv = random.subarray(44, 56);
  const derived = Buffer.from(hkdfSync('sha256', createSecretKey(dataKey), nonce, HKDF_INFO, 64));
  const wrapped = Buffer.concat([
    wrapIv,
    gcm(keyObject(key.secret), wrapIv, Buffer.concat([WRAP_INFO, aadBytes]), dataKey),
  ]);
  // magic, version 1, flags 0, one recipient: kind 1, key id, enc length 0, wrapped length, wrapped; nonce.
  const head = Buffer.alloc(8 + 2 + id.length + 2 + 2);
  MAGIC.copy(head, 0);
  head[4] = 1;
  head[5] = 0;
  head.writeUInt16BE(1, 6);
  head[8] = 1;
  head[9] = id.length;
  id.copy(head, 10);
  head.writeUInt16BE(0, 10 + id.length);
  head.writeUInt16BE(wrapped.length, 12 + id.length);
  const authenticated = Buffer.concat([head, wrapped, nonce]);
  const tag = createHmac('sha256', createSecretKey(derived.subarray(32, 64)))
    .update(authenticated)
    .digest();
  const ciphertext = gcm(createSecretKey(derived.subarray(0, 32)), nonce, aadBytes, plaintext);
  random.fill(0);
  derived.fill(0);
  return Buffer.concat([authenticated, tag, ciphertext]);
}
