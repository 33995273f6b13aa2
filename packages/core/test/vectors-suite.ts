/**
 * The test-vector checks, shared by Node (vectors.test.ts, node:test) and Chromium
 * (browser/vectors.browser.ts, @web/test-runner): the same cases must pass in both, proving the
 * bridge and the elements agree byte for byte. No Node or DOM APIs here.
 */
import {
  buildTree,
  canonicalJson,
  cidForBytes,
  contentHash,
  describeEnvelopeHeader,
  encodeLeaf,
  EnvelopeError,
  fromHex,
  keccakReady,
  leafHash,
  NotAFhirResourceError,
  openEnvelope,
  pseudonym,
  toHex,
  verifyProof,
  verifyRecord,
  verifyRecords,
  type EnvelopeHeaderInfo,
  type Hex,
  type LeafInput,
} from '../src/index.js';
import canonicalizeJson from 'canonicalize';
import { keccak256, keccak256Portable, sha256Sync } from '../src/keccak.js';
import { keccakWasm } from '../src/keccak-wasm.js';
import { INPUT_BLOCKS as SHA_INPUT_BLOCKS, sha256Wasm } from '../src/sha256-wasm.js';

export interface Vectors {
  description: string;
  resources: { name: string; json: string; canonical: string; contentHash: Hex }[];
  notResources: { name: string; json: string }[];
  leaves: { name: string; leaf: LeafInput; encoded: Hex; leafHash: Hex }[];
  pseudonyms: { key: Hex; patientId: string; pseudonym: Hex }[];
  trees: { leafHashes: Hex[]; root: Hex; proofs: Hex[][] }[];
  cids: { size: number; seed: number; chunkSize?: number; maxLinks?: number; cid: string; kubo: string }[];
  envelopes: {
    name: string;
    aad: string;
    plaintext: Hex;
    envelope: Hex;
    header: EnvelopeHeaderInfo;
    keys: (
      | { kind: 'hospital'; keyId: Hex; secret: Hex }
      | { kind: 'hpke'; keyId: Hex; publicKey: Hex; privateKey: Hex }
    )[];
  }[];
  records: {
    name: string;
    json: string;
    leaf: LeafInput;
    proof: Hex[];
    root: Hex;
    /** The patient the reader expects (pseudonym) and the hospital the record is attributed to. */
    subject: Hex;
    hospital: string;
    /** The hospital the chain says anchored the root (null: never anchored). */
    anchoredBy: string | null;
    expected: { status: 'verified' } | { status: 'tampered'; reason: string };
  }[];
}

/** Deterministic pseudo-random bytes (a 32-bit LCG's high bytes): the CID vectors' inputs. */
export function bytesOf(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = (seed * 2654435761 + 1) >>> 0;
  for (let i = 0; i < size; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

export interface VectorCase {
  name: string;
  run(): Promise<void>;
}

function expectEqual<T>(actual: T, expected: T, what: string): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${what}: expected ${e.slice(0, 300)}, got ${a.slice(0, 300)}`);
}

async function expectEnvelopeError(promise: Promise<unknown>, code: string, what: string): Promise<void> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof EnvelopeError && error.code === code) return;
    throw new Error(`${what}: expected EnvelopeError ${code}, got ${String(error)}`);
  }
  throw new Error(`${what}: expected EnvelopeError ${code}, but it opened`);
}

/** Every check over the vectors, one case each. */
export function vectorCases(v: Vectors): VectorCase[] {
  const cases: VectorCase[] = [];
  cases.push({
    name: 'starts the WebAssembly keccak (the cases below run on it)',
    async run() {
      expectEqual(await keccakReady(), true, 'keccakReady()');
    },
  });
  cases.push({
    name: "core's WebAssembly keccak-256 equals @noble/hashes for every length 0..1100 and for inputs over several 64 KiB chunks",
    async run() {
      expectEqual(keccakWasm() !== undefined, true, 'WebAssembly keccak instantiated synchronously');
      const lengths = [...Array.from({ length: 1101 }, (_, n) => n), 64328, 64329, 65536, 200_000];
      for (const n of lengths) {
        const data = bytesOf(n, n);
        expectEqual(toHex(keccak256(data)), toHex(keccak256Portable(data)), `keccak-256 of ${n} bytes`);
      }
    },
  });
  cases.push({
    name: "core's WebAssembly SHA-256 equals WebCrypto for every length 0..1100, around its input area's size, 64 KiB and 1 MiB",
    async run() {
      expectEqual(sha256Wasm() !== undefined, true, 'WebAssembly SHA-256 instantiated synchronously');
      const area = SHA_INPUT_BLOCKS * 64;
      const lengths = [
        ...Array.from({ length: 1101 }, (_, n) => n),
        area - 10,
        area - 9,
        area - 8,
        area - 1,
        area,
        area + 1,
        65536,
        1 << 20,
      ];
      for (const n of lengths) {
        const data = bytesOf(n, n + 1);
        const expected = toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', data)));
        expectEqual(toHex(sha256Sync(data)!), expected, `SHA-256 of ${n} bytes`);
      }
    },
  });
  for (const r of v.resources) {
    cases.push({
      name: `canonical form and contentHash of ${r.name}`,
      async run() {
        const parsed = JSON.parse(r.json) as unknown;
        expectEqual(canonicalJson(parsed), r.canonical, 'canonical JSON');
        expectEqual(await contentHash(parsed), r.contentHash, 'contentHash');
      },
    });
  }
  cases.push({
    name: 'lone surrogates are rejected and escaped backslash-u text is kept, as the canonicalize package decides',
    async run() {
      const texts = ['\ud800', 'a\udfff', '\ud83d\ude00', '\\ud800', '\\\ud800', 'x\\udc00y', '😀', '\u2028'];
      for (const t of texts) {
        for (const resource of [
          { resourceType: 'Basic', a: t },
          { resourceType: 'Basic', [t]: [t] },
        ]) {
          let expected: string;
          try {
            expected = canonicalizeJson(resource)!;
          } catch {
            try {
              canonicalJson(resource);
            } catch (error) {
              if (error instanceof NotAFhirResourceError) continue;
              throw error;
            }
            throw new Error(`accepted ${JSON.stringify(t)}`);
          }
          expectEqual(canonicalJson(resource), expected, `canonical JSON with ${JSON.stringify(t)}`);
        }
      }
    },
  });
  for (const r of v.notResources) {
    cases.push({
      name: `rejects ${r.name} as not a FHIR resource`,
      async run() {
        try {
          canonicalJson(JSON.parse(r.json));
        } catch (error) {
          if (error instanceof NotAFhirResourceError) return;
          throw error;
        }
        throw new Error('accepted');
      },
    });
  }
  for (const l of v.leaves) {
    cases.push({
      name: `ABI encoding and leaf hash of ${l.name}`,
      async run() {
        expectEqual(toHex(encodeLeaf(l.leaf)), l.encoded, 'abi.encode');
        expectEqual(leafHash(l.leaf), l.leafHash, 'leafHash');
      },
    });
  }
  cases.push({
    name: 'pseudonyms (HMAC-SHA-256)',
    async run() {
      for (const p of v.pseudonyms)
        expectEqual(await pseudonym(p.patientId, fromHex(p.key)), p.pseudonym, p.patientId);
    },
  });
  for (const t of v.trees) {
    cases.push({
      name: `Merkle root and proofs of ${t.leafHashes.length} leaves`,
      async run() {
        const tree = buildTree(t.leafHashes);
        expectEqual(tree.root, t.root, 'root');
        t.leafHashes.forEach((h, i) => {
          expectEqual(tree.proof(i), t.proofs[i], `proof ${i}`);
          expectEqual(verifyProof(h, t.proofs[i]!, t.root), true, `verifyProof ${i}`);
        });
      },
    });
  }
  for (const c of v.cids) {
    cases.push({
      name: `CID of ${c.size} bytes${c.chunkSize ? ` (chunk ${c.chunkSize}, ${c.maxLinks} links)` : ''} equals Kubo's`,
      async run() {
        const options = c.chunkSize ? { chunkSize: c.chunkSize, maxLinks: c.maxLinks } : {};
        expectEqual(await cidForBytes(bytesOf(c.size, c.seed), options), c.cid, 'cid');
      },
    });
  }
  for (const e of v.envelopes) {
    cases.push({
      name: `opens envelope ${e.name} with each key and refuses it altered`,
      async run() {
        const bytes = fromHex(e.envelope);
        expectEqual(describeEnvelopeHeader(bytes), e.header, 'header');
        for (const k of e.keys) {
          const key =
            k.kind === 'hospital'
              ? { kind: 'hospital' as const, keyId: k.keyId, secret: fromHex(k.secret) }
              : {
                  kind: 'hpke' as const,
                  keyId: k.keyId,
                  publicKey: fromHex(k.publicKey),
                  privateKey: fromHex(k.privateKey),
                };
          expectEqual(
            toHex(await openEnvelope(bytes, { aad: e.aad, key })),
            e.plaintext,
            `plaintext (${k.kind})`,
          );
          await expectEnvelopeError(
            openEnvelope(bytes, { aad: e.aad + 'x', key }),
            'unwrap-failed',
            `wrong AAD (${k.kind})`,
          );
          for (const at of [5, 30, bytes.length - 20, bytes.length - 1]) {
            const bad = bytes.slice();
            bad[at]! ^= 0x80;
            try {
              await openEnvelope(bad, { aad: e.aad, key });
            } catch (error) {
              if (error instanceof EnvelopeError) continue;
              throw error;
            }
            throw new Error(`opened with byte ${at} flipped (${k.kind})`);
          }
        }
      },
    });
  }
  for (const r of v.records) {
    cases.push({
      name: `verifyRecord: ${r.name}`,
      async run() {
        const result = await verifyRecord({
          resource: JSON.parse(r.json),
          leaf: r.leaf,
          proof: r.proof,
          root: r.root,
          subject: r.subject,
          hospital: r.hospital,
          anchoredBy: r.anchoredBy,
        });
        expectEqual<unknown>(
          result.status === 'verified'
            ? { status: 'verified' }
            : { status: result.status, reason: result.reason },
          r.expected,
          'result',
        );
      },
    });
  }
  cases.push({
    name: 'verifyRecords over all record vectors, twice over as one list (shared proof walks), equals the expected outcomes',
    async run() {
      const records = [...v.records, ...v.records];
      const results = await verifyRecords(
        records.map((r) => ({
          resource: JSON.parse(r.json),
          leaf: r.leaf,
          proof: JSON.parse(JSON.stringify(r.proof)) as Hex[],
          root: r.root,
          subject: r.subject,
          hospital: r.hospital,
          anchoredBy: r.anchoredBy,
        })),
      );
      results.forEach((result, i) => {
        expectEqual<unknown>(
          result.status === 'verified'
            ? { status: 'verified' }
            : { status: result.status, reason: result.reason },
          records[i]!.expected,
          `result ${i}`,
        );
      });
    },
  });
  return cases;
}
