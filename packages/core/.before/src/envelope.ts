import { CipherSuite, DhkemX25519HkdfSha256, HkdfSha256, Aes256Gcm } from '@hpke/core';
import { z } from 'zod';
import {
  bufferSource,
  concatBytes,
  equalBytes,
  fromHex,
  isHex,
  toHex,
  type CryptoKey,
  type Hex,
} from './hex.js';

/*
 * Envelope format, version 1 (all integers big-endian):
 *
 *   offset size  field
 *   0      4     magic "EHRE" (0x45 0x48 0x52 0x45)
 *   4      1     version = 1
 *   5      1     flags = 0 (reserved; readers reject anything else)
 *   6      2     recipient count R (0 = crypto-shredded)
 *   8      …     R recipient entries:
 *                  1  kind (1 = symmetric hospital key, AES-256-GCM wrap; 2 = HPKE X25519)
 *                  1  key id length L (1..64)
 *                  L  key id
 *                  2  enc length E, then E bytes (HPKE encapsulated key, 32; 0 for kind 1)
 *                  2  wrapped length W, then W bytes (kind 1: nonce 12 + key 32 + tag 16 = 60;
 *                     kind 2: key 32 + tag 16 = 48)
 *          12    nonce of the content encryption
 *          32    header tag: HMAC-SHA-256 under the header key over every byte before it
 *          …     ciphertext of the content, AES-256-GCM, ending in the 16-byte GCM tag
 *
 * Keys: a fresh 32-byte data key per envelope is what recipients unwrap; HKDF-SHA-256 of it
 * (salt = nonce) gives the content key and the header key. The caller's AAD (the record's
 * identity) is authenticated by the content encryption and by every key wrap, so an envelope moved
 * to another record does not open. The header tag makes any change to any byte of the header fail —
 * including another recipient's entry — and, since it is keyed by the data key, it also commits
 * the envelope to one data key. Adding or removing recipients needs a key that opens the envelope
 * (the header tag is recomputed); the content is not re-encrypted.
 */

export const ENVELOPE_MAGIC = new Uint8Array([0x45, 0x48, 0x52, 0x45]);
export const ENVELOPE_VERSION = 1;
const NONCE_BYTES = 12;
const HEADER_TAG_BYTES = 32;
const GCM_TAG_BYTES = 16;
const DATA_KEY_BYTES = 32;

/** Why an envelope did not open or parse. */
export type EnvelopeErrorCode =
  | 'malformed' // not an envelope of a version this code reads
  | 'no-recipient' // no wrapped key for this key (never wrapped for it, removed, or shredded)
  | 'unwrap-failed' // the entry exists but this key does not unwrap it (wrong key, wrong AAD, flipped bit)
  | 'tampered'; // header or ciphertext altered, or wrong AAD

/** Every failure to parse, open or re-key an envelope. */
export class EnvelopeError extends Error {
  override readonly name = 'EnvelopeError';
  constructor(
    readonly code: EnvelopeErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

/** A hospital's symmetric key (kind 1): the bridge's fast path, AES-256-GCM key wrap. */
export interface HospitalKey {
  readonly kind: 'hospital';
  /** Public identifier written into the envelope to find this key's entry (1..64 bytes). */
  readonly keyId: Hex;
  /** 32 secret bytes. */
  readonly secret: Uint8Array;
}

/** An HPKE recipient's public key (kind 2): a patient, another hospital. */
export interface RecipientPublicKey {
  readonly kind: 'hpke';
  readonly keyId: Hex;
  /** 32-byte X25519 public key. */
  readonly publicKey: Uint8Array;
}

/** An HPKE recipient's key pair; opens envelopes wrapped to its public key. */
export interface RecipientKeyPair extends RecipientPublicKey {
  /** 32-byte X25519 private key. */
  readonly privateKey: Uint8Array;
}

/** Anything an envelope can be wrapped to. */
export type Recipient = HospitalKey | RecipientPublicKey;
/** Anything that can open an envelope. */
export type OpeningKey = HospitalKey | RecipientKeyPair;

const KIND_CODE = { hospital: 1, hpke: 2 } as const;
const WRAP_INFO = new TextEncoder().encode('ehr-anchor envelope v1 key wrap');
const HKDF_INFO = new TextEncoder().encode('ehr-anchor envelope v1 keys');

const suite = new CipherSuite({
  kem: new DhkemX25519HkdfSha256(),
  kdf: new HkdfSha256(),
  aead: new Aes256Gcm(),
});

function randomBytes(n: number): Uint8Array<ArrayBuffer> {
  return crypto.getRandomValues(new Uint8Array(n));
}

/** A new random symmetric hospital key with a random 16-byte key id. */
export function generateHospitalKey(): HospitalKey {
  return { kind: 'hospital', keyId: toHex(randomBytes(16)), secret: randomBytes(32) };
}

/** The key id of an X25519 public key: the first 16 bytes of its SHA-256. */
export async function recipientKeyId(publicKey: Uint8Array): Promise<Hex> {
  return toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', bufferSource(publicKey))).slice(0, 16));
}

/** A new X25519 key pair for HPKE (patient, other hospital); its key id derives from the public key. */
export async function generateRecipientKeyPair(): Promise<RecipientKeyPair> {
  const pair = await suite.kem.generateKeyPair();
  const publicKey = new Uint8Array(await suite.kem.serializePublicKey(pair.publicKey));
  const privateKey = new Uint8Array(await suite.kem.serializePrivateKey(pair.privateKey));
  return { kind: 'hpke', keyId: await recipientKeyId(publicKey), publicKey, privateKey };
}

/** The public half of a key pair, to hand to whoever wraps for it. */
export function recipientPublicKey(pair: RecipientKeyPair): RecipientPublicKey {
  return { kind: 'hpke', keyId: pair.keyId, publicKey: pair.publicKey };
}

// WebCrypto key objects, imported once per key object.
const aesKeys = new WeakMap<Uint8Array, Promise<CryptoKey>>();
function hospitalCryptoKey(key: HospitalKey): Promise<CryptoKey> {
  let cached = aesKeys.get(key.secret);
  if (!cached) {
    if (key.secret.length !== 32) throw new TypeError('a hospital key has exactly 32 secret bytes');
    cached = crypto.subtle.importKey('raw', bufferSource(key.secret), 'AES-GCM', false, [
      'encrypt',
      'decrypt',
    ]);
    aesKeys.set(key.secret, cached);
  }
  return cached;
}
const hpkePublic = new WeakMap<Uint8Array, Promise<CryptoKey>>();
const hpkePrivate = new WeakMap<Uint8Array, Promise<CryptoKey>>();
function cachedKey(
  map: WeakMap<Uint8Array, Promise<CryptoKey>>,
  bytes: Uint8Array,
  load: () => Promise<CryptoKey>,
) {
  let cached = map.get(bytes);
  if (!cached) {
    cached = load();
    map.set(bytes, cached);
  }
  return cached;
}

/** One wrapped data key inside an envelope header. */
export interface RecipientEntry {
  kind: 'hospital' | 'hpke';
  keyId: Hex;
  /** HPKE encapsulated key (empty for hospital keys). */
  enc: Uint8Array;
  wrapped: Uint8Array;
}

/** The parsed header of an envelope. */
export interface EnvelopeHeader {
  version: number;
  recipients: RecipientEntry[];
  nonce: Uint8Array;
  headerTag: Uint8Array;
  /** Bytes covered by the header tag (everything before it). */
  authenticatedLength: number;
  /** Offset of the ciphertext (after the header tag). */
  ciphertextOffset: number;
  /** Ciphertext length including the 16-byte GCM tag. */
  ciphertextLength: number;
}

const hexString = z.string().regex(/^0x[0-9a-f]*$/, 'lowercase 0x hex');

/** zod schema of {@link describeEnvelopeHeader}'s JSON-friendly form (for logs, APIs, manifests). */
export const envelopeHeaderSchema = z.object({
  version: z.literal(ENVELOPE_VERSION),
  recipients: z.array(
    z.object({
      kind: z.enum(['hospital', 'hpke']),
      keyId: hexString,
      encLength: z.number().int().nonnegative(),
      wrappedLength: z.number().int().positive(),
    }),
  ),
  nonce: hexString.length(2 + 2 * NONCE_BYTES),
  headerLength: z.number().int().positive(),
  ciphertextLength: z.number().int().min(GCM_TAG_BYTES),
});
export type EnvelopeHeaderInfo = z.infer<typeof envelopeHeaderSchema>;

function malformed(message: string): never {
  throw new EnvelopeError('malformed', message);
}

/** Parses (without any key) the header of an envelope; throws `EnvelopeError('malformed')`. */
export function parseEnvelopeHeader(bytes: Uint8Array): EnvelopeHeader {
  if (!(bytes instanceof Uint8Array)) malformed('expected bytes');
  if (bytes.length < 8 || !equalBytes(bytes.subarray(0, 4), ENVELOPE_MAGIC)) malformed('bad magic');
  const version = bytes[4]!;
  if (version !== ENVELOPE_VERSION) malformed(`unsupported version ${version}`);
  if (bytes[5] !== 0) malformed('unknown flags');
  const count = (bytes[6]! << 8) | bytes[7]!;
  let p = 8;
  const need = (n: number) => {
    if (p + n > bytes.length) malformed('truncated');
  };
  const recipients: RecipientEntry[] = [];
  for (let r = 0; r < count; r++) {
    need(2);
    const code = bytes[p]!;
    const kind = code === 1 ? 'hospital' : code === 2 ? 'hpke' : malformed(`unknown recipient kind ${code}`);
    const idLength = bytes[p + 1]!;
    if (idLength < 1 || idLength > 64) malformed('bad key id length');
    p += 2;
    need(idLength + 2);
    const keyId = toHex(bytes.subarray(p, p + idLength));
    p += idLength;
    const encLength = (bytes[p]! << 8) | bytes[p + 1]!;
    p += 2;
    need(encLength + 2);
    const enc = bytes.slice(p, p + encLength);
    p += encLength;
    const wrappedLength = (bytes[p]! << 8) | bytes[p + 1]!;
    p += 2;
    need(wrappedLength);
    const wrapped = bytes.slice(p, p + wrappedLength);
    p += wrappedLength;
    if (
      kind === 'hospital' ? encLength !== 0 || wrappedLength !== 60 : encLength !== 32 || wrappedLength !== 48
    ) {
      malformed('bad recipient entry sizes');
    }
    recipients.push({ kind, keyId, enc, wrapped });
  }
  need(NONCE_BYTES + HEADER_TAG_BYTES + GCM_TAG_BYTES);
  const nonce = bytes.slice(p, p + NONCE_BYTES);
  const authenticatedLength = p + NONCE_BYTES;
  const headerTag = bytes.slice(authenticatedLength, authenticatedLength + HEADER_TAG_BYTES);
  const ciphertextOffset = authenticatedLength + HEADER_TAG_BYTES;
  return {
    version,
    recipients,
    nonce,
    headerTag,
    authenticatedLength,
    ciphertextOffset,
    ciphertextLength: bytes.length - ciphertextOffset,
  };
}

/** The header as plain JSON (no secrets): kinds, key ids and sizes; validates with {@link envelopeHeaderSchema}. */
export function describeEnvelopeHeader(bytes: Uint8Array): EnvelopeHeaderInfo {
  const h = parseEnvelopeHeader(bytes);
  return {
    version: ENVELOPE_VERSION,
    recipients: h.recipients.map((r) => ({
      kind: r.kind,
      keyId: r.keyId,
      encLength: r.enc.length,
      wrappedLength: r.wrapped.length,
    })),
    nonce: toHex(h.nonce),
    headerLength: h.ciphertextOffset,
    ciphertextLength: h.ciphertextLength,
  };
}

function u16(n: number): Uint8Array {
  return new Uint8Array([(n >> 8) & 0xff, n & 0xff]);
}

function serializeAuthenticated(recipients: readonly RecipientEntry[], nonce: Uint8Array): Uint8Array {
  if (recipients.length > 0xffff) throw new RangeError('too many recipients');
  const parts: Uint8Array[] = [ENVELOPE_MAGIC, new Uint8Array([ENVELOPE_VERSION, 0]), u16(recipients.length)];
  for (const r of recipients) {
    const id = fromHex(r.keyId);
    parts.push(
      new Uint8Array([KIND_CODE[r.kind], id.length]),
      id,
      u16(r.enc.length),
      r.enc,
      u16(r.wrapped.length),
      r.wrapped,
    );
  }
  parts.push(nonce);
  return concatBytes(...parts);
}

interface DerivedKeys {
  content: CryptoKey;
  header: CryptoKey;
}

async function deriveKeys(dataKey: Uint8Array, nonce: Uint8Array): Promise<DerivedKeys> {
  const ikm = await crypto.subtle.importKey('raw', bufferSource(dataKey), 'HKDF', false, ['deriveBits']);
  const bits = new Uint8Array(
    await crypto.subtle.deriveBits(
      { name: 'HKDF', hash: 'SHA-256', salt: bufferSource(nonce), info: HKDF_INFO },
      ikm,
      512,
    ),
  );
  const [content, header] = await Promise.all([
    crypto.subtle.importKey('raw', bits.subarray(0, 32), 'AES-GCM', false, ['encrypt', 'decrypt']),
    crypto.subtle.importKey('raw', bits.subarray(32, 64), { name: 'HMAC', hash: 'SHA-256' }, false, [
      'sign',
      'verify',
    ]),
  ]);
  return { content, header };
}

function wrapAad(aad: Uint8Array): Uint8Array<ArrayBuffer> {
  return bufferSource(concatBytes(WRAP_INFO, aad));
}

function checkKeyId(keyId: Hex): void {
  if (!isHex(keyId) || keyId.length < 4 || keyId.length > 2 + 128)
    throw new TypeError('keyId must be 1..64 bytes of hex');
}

async function wrapFor(recipient: Recipient, dataKey: Uint8Array, aad: Uint8Array): Promise<RecipientEntry> {
  checkKeyId(recipient.keyId);
  const keyId = recipient.keyId.toLowerCase() as Hex;
  if (recipient.kind === 'hospital') {
    const iv = randomBytes(12);
    const ct = await crypto.subtle.encrypt(
      { name: 'AES-GCM', iv, additionalData: wrapAad(aad) },
      await hospitalCryptoKey(recipient),
      bufferSource(dataKey),
    );
    return { kind: 'hospital', keyId, enc: new Uint8Array(0), wrapped: concatBytes(iv, new Uint8Array(ct)) };
  }
  if (recipient.kind === 'hpke') {
    const publicKey = await cachedKey(hpkePublic, recipient.publicKey, () =>
      suite.kem.deserializePublicKey(bufferSource(recipient.publicKey)),
    );
    const sealed = await suite.seal(
      { recipientPublicKey: publicKey, info: WRAP_INFO },
      bufferSource(dataKey),
      bufferSource(aad),
    );
    return { kind: 'hpke', keyId, enc: new Uint8Array(sealed.enc), wrapped: new Uint8Array(sealed.ct) };
  }
  throw new TypeError(`unknown recipient kind ${(recipient as { kind: unknown }).kind}`);
}

async function unwrapWith(key: OpeningKey, entry: RecipientEntry, aad: Uint8Array): Promise<Uint8Array> {
  try {
    let dataKey: Uint8Array;
    if (key.kind === 'hospital') {
      const pt = await crypto.subtle.decrypt(
        { name: 'AES-GCM', iv: entry.wrapped.subarray(0, 12), additionalData: wrapAad(aad) },
        await hospitalCryptoKey(key),
        entry.wrapped.subarray(12),
      );
      dataKey = new Uint8Array(pt);
    } else {
      const privateKey = await cachedKey(hpkePrivate, key.privateKey, () =>
        suite.kem.deserializePrivateKey(bufferSource(key.privateKey)),
      );
      const pt = await suite.open(
        { recipientKey: privateKey, enc: bufferSource(entry.enc), info: WRAP_INFO },
        bufferSource(entry.wrapped),
        bufferSource(aad),
      );
      dataKey = new Uint8Array(pt);
    }
    if (dataKey.length !== DATA_KEY_BYTES) throw new Error('wrong data key size');
    return dataKey;
  } catch {
    throw new EnvelopeError(
      'unwrap-failed',
      `key ${key.keyId} does not unwrap its entry (wrong key, wrong AAD or altered entry)`,
    );
  }
}

function findEntry(header: EnvelopeHeader, key: OpeningKey): RecipientEntry {
  const keyId = key.keyId.toLowerCase();
  const entry = header.recipients.find((r) => r.kind === key.kind && r.keyId === keyId);
  if (!entry) throw new EnvelopeError('no-recipient', `no wrapped key for ${key.kind} key ${key.keyId}`);
  return entry;
}

function toAadBytes(aad: Uint8Array | string): Uint8Array {
  return typeof aad === 'string' ? new TextEncoder().encode(aad) : aad;
}

/**
 * The associated data that binds an envelope to one record version:
 * `ehr-anchor/v1/<resourceType>/<resourceId>/<versionId>` (UTF-8). Use the same string to open.
 */
export function recordAad(identity: { resourceType: string; resourceId: string; versionId: string }): string {
  return `ehr-anchor/v1/${identity.resourceType}/${identity.resourceId}/${identity.versionId}`;
}

export interface SealOptions {
  plaintext: Uint8Array;
  /** The record's identity (see {@link recordAad}); needed again to open. */
  aad: Uint8Array | string;
  /** Who can open it: at least one. */
  recipients: readonly Recipient[];
}

async function assemble(
  entries: readonly RecipientEntry[],
  nonce: Uint8Array,
  headerKey: CryptoKey,
  ciphertext: Uint8Array,
): Promise<Uint8Array> {
  const authenticated = serializeAuthenticated(entries, nonce);
  const tag = new Uint8Array(await crypto.subtle.sign('HMAC', headerKey, bufferSource(authenticated)));
  return concatBytes(authenticated, tag, ciphertext);
}

/** Encrypts `plaintext` under a fresh data key and wraps that key for every recipient. */
export async function sealEnvelope(options: SealOptions): Promise<Uint8Array> {
  const aad = toAadBytes(options.aad);
  if (options.recipients.length === 0) throw new TypeError('an envelope needs at least one recipient');
  const dataKey = randomBytes(DATA_KEY_BYTES);
  const nonce = randomBytes(NONCE_BYTES);
  const [keys, entries] = await Promise.all([
    deriveKeys(dataKey, nonce),
    Promise.all(options.recipients.map((r) => wrapFor(r, dataKey, aad))),
  ]);
  const ciphertext = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: 'AES-GCM', iv: bufferSource(nonce), additionalData: bufferSource(aad) },
      keys.content,
      bufferSource(options.plaintext),
    ),
  );
  return assemble(entries, nonce, keys.header, ciphertext);
}

interface Opened {
  header: EnvelopeHeader;
  dataKey: Uint8Array;
  keys: DerivedKeys;
}

async function unlock(bytes: Uint8Array, aad: Uint8Array, key: OpeningKey): Promise<Opened> {
  const header = parseEnvelopeHeader(bytes);
  const dataKey = await unwrapWith(key, findEntry(header, key), aad);
  const keys = await deriveKeys(dataKey, header.nonce);
  const ok = await crypto.subtle.verify(
    'HMAC',
    keys.header,
    bufferSource(header.headerTag),
    bufferSource(bytes.subarray(0, header.authenticatedLength)),
  );
  if (!ok) throw new EnvelopeError('tampered', 'header tag does not match');
  return { header, dataKey, keys };
}

export interface OpenOptions {
  /** The same associated data it was sealed with. */
  aad: Uint8Array | string;
  key: OpeningKey;
}

/** Decrypts an envelope; throws {@link EnvelopeError} on a wrong key, wrong AAD or any altered byte. */
export async function openEnvelope(bytes: Uint8Array, options: OpenOptions): Promise<Uint8Array> {
  const aad = toAadBytes(options.aad);
  const { header, keys } = await unlock(bytes, aad, options.key);
  try {
    const pt = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: bufferSource(header.nonce), additionalData: bufferSource(aad) },
      keys.content,
      bufferSource(bytes.subarray(header.ciphertextOffset)),
    );
    return new Uint8Array(pt);
  } catch {
    throw new EnvelopeError('tampered', 'ciphertext or associated data altered');
  }
}

/** Wraps the envelope's data key for one more recipient (needs a key that opens it); content bytes stay the same. */
export async function addRecipient(
  bytes: Uint8Array,
  options: OpenOptions & { recipient: Recipient },
): Promise<Uint8Array> {
  const aad = toAadBytes(options.aad);
  const { header, dataKey, keys } = await unlock(bytes, aad, options.key);
  const entry = await wrapFor(options.recipient, dataKey, aad);
  const others = header.recipients.filter((r) => !(r.kind === entry.kind && r.keyId === entry.keyId));
  return assemble([...others, entry], header.nonce, keys.header, bytes.subarray(header.ciphertextOffset));
}

/**
 * Drops the wrapped keys with the given key ids (needs a key that opens it). Removing every
 * recipient leaves an envelope nobody can open: crypto-shredding, once the old copies are gone.
 */
export async function removeRecipients(
  bytes: Uint8Array,
  options: OpenOptions & { keyIds: readonly Hex[] },
): Promise<Uint8Array> {
  const aad = toAadBytes(options.aad);
  const { header, keys } = await unlock(bytes, aad, options.key);
  const drop = new Set(options.keyIds.map((id) => id.toLowerCase()));
  return assemble(
    header.recipients.filter((r) => !drop.has(r.keyId)),
    header.nonce,
    keys.header,
    bytes.subarray(header.ciphertextOffset),
  );
}

/** Key ids of the recipients an envelope is wrapped for (no key needed). */
export function envelopeRecipients(bytes: Uint8Array): { kind: 'hospital' | 'hpke'; keyId: Hex }[] {
  return parseEnvelopeHeader(bytes).recipients.map(({ kind, keyId }) => ({ kind, keyId }));
}

/** Bytes an envelope adds to its plaintext for the given recipients. */
export function envelopeOverhead(recipients: readonly Recipient[]): number {
  let size = 8 + NONCE_BYTES + HEADER_TAG_BYTES + GCM_TAG_BYTES;
  for (const r of recipients)
    size += 2 + (r.keyId.length - 2) / 2 + 4 + (r.kind === 'hospital' ? 60 : 32 + 48);
  return size;
}

/** Hex helpers for storing keys in configuration. */
export function hospitalKeyFromHex(keyId: Hex, secret: Hex): HospitalKey {
  const bytes = fromHex(secret);
  if (bytes.length !== 32) throw new TypeError('a hospital key secret is 32 bytes');
  return { kind: 'hospital', keyId: keyId.toLowerCase() as Hex, secret: bytes };
}
