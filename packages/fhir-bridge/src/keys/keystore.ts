/**
 * The hospital's keys, kept apart from the outbox.
 *
 * File format (`ehr-anchor-keystore/v1`, JSON, mode 0600):
 *
 * ```json
 * {
 *   "format": "ehr-anchor-keystore/v1",
 *   "hospitalKeys": [
 *     { "keyId": "0x<16 bytes hex>", "secret": "0x<32 bytes hex>", "createdAt": "2026-01-01T00:00:00Z", "active": true }
 *   ],
 *   "pseudonymKey": "0x<32 bytes hex>",
 *   "recipients": [ { "keyId": "0x…", "publicKey": "0x<32 bytes X25519>" } ]
 * }
 * ```
 *
 * - `hospitalKeys`: symmetric AES-256 keys that wrap each envelope's data key (the hot path). New
 *   envelopes use the one `active` key; old keys stay so old envelopes still open (rotation = add
 *   a key, mark it active, keep the rest). Deleting a key crypto-shreds every envelope wrapped only to it.
 * - `pseudonymKey`: HMAC key turning patient ids into leaf subjects. Never rotate it casually: the
 *   same patient must keep the same subject.
 * - `recipients`: optional HPKE (X25519) public keys every new envelope is also wrapped to (e.g.
 *   the hospital's on-chain key-wrapping key held offline) — slower, so empty by default.
 *
 * Plugging in a KMS: implement {@link KeyStore} so that `activeKey()`/`key()` return a
 * `HospitalKey` whose secret the KMS released at start (AWS KMS `GenerateDataKey`/`Decrypt`,
 * Vault transit `datakey`), keeping only the KMS-wrapped form on disk; pass it to `buildApp`
 * through `deps.keyStore`. The pipeline only ever calls this interface.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  generateHospitalKey,
  generatePseudonymKey,
  hospitalKeyFromHex,
  toHex,
  fromHex,
  type Hex,
  type HospitalKey,
  type RecipientPublicKey,
} from '@ehr-anchor/core';
import { z } from 'zod';

const hex = (bytes: number) =>
  z.string().regex(new RegExp(`^0x[0-9a-fA-F]{${bytes * 2}}$`), `expected 0x + ${bytes} bytes hex`);

export const keyStoreFileSchema = z.object({
  format: z.literal('ehr-anchor-keystore/v1'),
  hospitalKeys: z
    .array(
      z.object({
        keyId: z.string().regex(/^0x([0-9a-fA-F]{2}){1,64}$/),
        secret: hex(32),
        createdAt: z.string(),
        active: z.boolean().default(false),
      }),
    )
    .min(1)
    .refine((keys) => keys.filter((k) => k.active).length === 1, 'exactly one hospital key must be active'),
  pseudonymKey: hex(32),
  recipients: z
    .array(z.object({ keyId: z.string().regex(/^0x([0-9a-fA-F]{2}){1,64}$/), publicKey: hex(32) }))
    .default([]),
});
export type KeyStoreFile = z.infer<typeof keyStoreFileSchema>;

export interface KeyStore {
  /** The key new envelopes are wrapped to. */
  activeKey(): HospitalKey;
  /** Any known hospital key by id (to open old envelopes). */
  key(keyId: string): HospitalKey | undefined;
  /** HMAC key of patient pseudonyms (leaf subjects). */
  pseudonymKey(): Uint8Array;
  /** Extra HPKE recipients of every new envelope. */
  recipients(): RecipientPublicKey[];
}

export class FileKeyStore implements KeyStore {
  readonly #keys = new Map<string, HospitalKey>();
  readonly #active: HospitalKey;
  readonly #pseudonym: Uint8Array;
  readonly #recipients: RecipientPublicKey[];

  constructor(file: KeyStoreFile) {
    let active: HospitalKey | undefined;
    for (const k of file.hospitalKeys) {
      const key = hospitalKeyFromHex(k.keyId as Hex, k.secret as Hex);
      this.#keys.set(key.keyId, key);
      if (k.active) active = key;
    }
    this.#active = active!;
    this.#pseudonym = fromHex(file.pseudonymKey as Hex);
    this.#recipients = file.recipients.map((r) => ({
      kind: 'hpke' as const,
      keyId: r.keyId.toLowerCase() as Hex,
      publicKey: fromHex(r.publicKey as Hex),
    }));
  }

  activeKey(): HospitalKey {
    return this.#active;
  }
  key(keyId: string): HospitalKey | undefined {
    return this.#keys.get(keyId.toLowerCase());
  }
  pseudonymKey(): Uint8Array {
    return this.#pseudonym;
  }
  recipients(): RecipientPublicKey[] {
    return this.#recipients;
  }
}

/** A fresh key store file: one active hospital key and a pseudonym key. */
export function newKeyStoreFile(): KeyStoreFile {
  const key = generateHospitalKey();
  return {
    format: 'ehr-anchor-keystore/v1',
    hospitalKeys: [
      { keyId: key.keyId, secret: toHex(key.secret), createdAt: new Date().toISOString(), active: true },
    ],
    pseudonymKey: toHex(generatePseudonymKey()),
    recipients: [],
  };
}

/** Reads and validates a key store file; with `create`, writes a fresh one (mode 0600) when missing. */
export function loadKeyStore(path: string, create = false): FileKeyStore {
  if (!existsSync(path)) {
    if (!create)
      throw new Error(`key store ${path} does not exist (run \`ehr-bridge keys init\` or set createKeys)`);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, `${JSON.stringify(newKeyStoreFile(), null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  }
  const parsed = keyStoreFileSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  if (!parsed.success) {
    throw new Error(
      `key store ${path}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  return new FileKeyStore(parsed.data);
}
