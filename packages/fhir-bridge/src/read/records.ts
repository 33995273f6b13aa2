/**
 * Reading one record back: fetch its envelope from IPFS, check the bytes against the CID, open the
 * envelope with the hospital key, and check the resource against the leaf the outbox holds — and,
 * once anchored, the leaf against the proof and the root against the chain. Anything that does not
 * match is a {@link TamperError} (409, with the reason): a record is never served as valid unless
 * every check passed. The browser repeats the checks itself (packages/core `verifyRecord`).
 */
import { categoryOf } from '@ehr-anchor/contracts';
import {
  cidForBytes,
  EnvelopeError,
  leafHash,
  openEnvelope,
  recordAad,
  verifyRecord,
  type Hex,
  type LeafInput,
} from '@ehr-anchor/core';
import {
  TAMPER_SYSTEM,
  type ApiTamperReason,
  type RecordAnchor,
  type RecordRead,
} from '@ehr-anchor/core/api';
import type { OperationOutcome } from 'fhir/r4';
import type { KuboRPCClient } from 'kubo-rpc-client';
import { HttpError } from '../errors.js';
import type { KeyStore } from '../keys/keystore.js';
import { ContentTooLargeError } from '../pipeline/ipfs.js';
import type { Outbox, RecordInfo } from '../outbox/types.js';
import type { ChainReader } from './chain.js';
import { timed, type StageObserver } from './timing.js';

const ZERO_ADDRESS = '0x0000000000000000000000000000000000000000';

/** The record's bytes or content do not match what was anchored. */
export class TamperError extends HttpError {
  constructor(
    readonly reason: ApiTamperReason,
    detail: string,
  ) {
    super(409, 'processing', `record failed verification (${reason}): ${detail}`);
    this.name = 'TamperError';
  }
  outcome(): OperationOutcome {
    return {
      resourceType: 'OperationOutcome',
      issue: [
        {
          severity: 'error',
          code: 'processing',
          diagnostics: this.message,
          details: { coding: [{ system: TAMPER_SYSTEM, code: this.reason }] },
        },
      ],
    };
  }
}

/** The record was erased (crypto-shredded); the anchor still proves it existed. */
export class GoneError extends HttpError {
  constructor(readonly leaf: string | null) {
    super(
      410,
      'not-found',
      "this record was erased at the patient's request; its anchor still proves that it existed",
    );
    this.name = 'GoneError';
  }
}

const MAX_ENVELOPE = 64 * 1024 * 1024;

/** Reads IPFS content in full (records are small; documents stream elsewhere). */
export async function catBytes(
  ipfs: KuboRPCClient,
  cid: string,
  limit = MAX_ENVELOPE,
  timeoutMs = 30_000,
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of ipfs.cat(cid, { timeout: timeoutMs })) {
    size += chunk.length;
    if (size > limit) throw new HttpError(502, 'exception', 'IPFS content larger than any record');
    chunks.push(chunk);
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

export interface RecordReaderDeps {
  outbox: Outbox;
  keyStore: KeyStore;
  ipfs: KuboRPCClient;
  chain: ChainReader;
  /** Reads content in full with a fallback to the peer nodes holding replicas (IpfsStore.catBytes). */
  ipfsRead?: (cid: string, limit: number) => Promise<Uint8Array>;
  /** Receives each stage's wall time (the read-stage histogram). */
  observe?: StageObserver;
}

export function leafOf(info: RecordInfo): LeafInput {
  return {
    subject: info.subject as Hex,
    resourceType: info.resourceType,
    resourceId: info.resourceId,
    versionId: info.versionId,
    contentHash: info.contentHash as Hex,
    payloadCid: info.cid!,
    salt: info.salt as Hex,
  };
}

export class RecordReader {
  constructor(readonly deps: RecordReaderDeps) {}

  async info(seq: number): Promise<RecordInfo | undefined> {
    const [info] = await timed(this.deps.observe, 'store', () => this.deps.outbox.bySeq([seq]));
    return info;
  }

  /** The anchor of a record's batch, checked against the chain (`anchorOf`). */
  async anchorOf(info: RecordInfo): Promise<{ anchor: RecordAnchor | null; root: string | null }> {
    if (info.batchId === null) return { anchor: null, root: null };
    const batchId = info.batchId;
    const batch = await timed(this.deps.observe, 'store', () => this.deps.outbox.getBatch(batchId));
    if (!batch) return { anchor: null, root: null };
    if (info.state !== 'anchored') return { anchor: null, root: batch.root };
    const onChain = await timed(this.deps.observe, 'chain', () => this.deps.chain.anchorOf(batch.root));
    if (!onChain) throw new TamperError('root-unknown', `root ${batch.root} is not anchored on chain`);
    return {
      root: batch.root,
      anchor: {
        root: batch.root as Hex,
        manifestCid: batch.manifestCid,
        txHash: batch.txHash as Hex | null,
        blockNumber: batch.blockNumber,
        hospital: onChain.hospital as `0x${string}`,
      },
    };
  }

  /** Fetches and opens a record's envelope; verifies CID, envelope, content and (when anchored) proof and root. */
  async read(info: RecordInfo): Promise<RecordRead> {
    if (!info.cid || !info.salt || !info.keyId || !info.leaf) {
      throw new HttpError(503, 'transient', 'this version is not stored yet; try again shortly');
    }
    const { ipfsRead } = this.deps;
    const fetched = ipfsRead
      ? ipfsRead(info.cid, MAX_ENVELOPE).catch((error: unknown) => {
          if (error instanceof ContentTooLargeError)
            throw new HttpError(502, 'exception', 'IPFS content larger than any record');
          throw error;
        })
      : catBytes(this.deps.ipfs, info.cid);
    const bytes = await timed(this.deps.observe, 'ipfs', () =>
      fetched.catch((error: unknown) => {
        if (error instanceof HttpError) throw error;
        throw new HttpError(502, 'transient', 'the record content could not be fetched from IPFS');
      }),
    );
    const opening = performance.now();
    const actual = await cidForBytes(bytes);
    if (actual !== info.cid)
      throw new TamperError('cid-mismatch', `IPFS returned bytes whose CID is ${actual}, not ${info.cid}`);
    const key = this.deps.keyStore.key(info.keyId);
    if (!key) throw new GoneError(info.leaf);
    let plaintext: Uint8Array;
    try {
      plaintext = await openEnvelope(bytes, { aad: recordAad(info), key });
    } catch (error) {
      if (error instanceof EnvelopeError && error.code === 'no-recipient') throw new GoneError(info.leaf);
      throw new TamperError(
        'envelope-tampered',
        error instanceof EnvelopeError ? error.code : 'the envelope does not open',
      );
    }
    let resource: { resourceType: string; id?: string };
    try {
      resource = JSON.parse(new TextDecoder().decode(plaintext)) as { resourceType: string; id?: string };
    } catch {
      throw new TamperError('content-changed', 'the decrypted content is not JSON');
    }
    const leaf = leafOf(info);
    const computedLeaf = leafHash(leaf);
    if (computedLeaf !== info.leaf.toLowerCase())
      throw new TamperError('proof-invalid', 'the leaf fields do not hash to the stored leaf');
    const openMs = performance.now() - opening;
    const { anchor, root } = await this.anchorOf(info);
    const verifying = performance.now();
    // The bridge checks its own store: the leaf is the stored record's own (its subject) and the
    // hospital is whoever the chain says anchored the root; which patient and hospital a reader
    // expects is for the reader to check (the browser does, against chain state).
    // Not yet batched: only content and identity are checked (an empty proof leads to the leaf itself).
    const notYet = root === null || info.state !== 'anchored';
    const hospital = anchor?.hospital ?? ZERO_ADDRESS;
    const result = await verifyRecord({
      resource,
      leaf,
      proof: (info.proof ?? []) as Hex[],
      root: (root ?? computedLeaf) as Hex,
      subject: leaf.subject,
      hospital,
      anchoredBy: anchor !== null || notYet ? hospital : null,
    });
    this.deps.observe?.('open', (openMs + performance.now() - verifying) / 1000);
    if (result.status === 'tampered') {
      // subject-mismatch and hospital-mismatch cannot happen here (the leaf's own subject and the
      // chain's own hospital are expected); were they ever, the stored leaf is not what was anchored.
      const reason =
        result.reason === 'malformed'
          ? 'content-changed'
          : result.reason === 'subject-mismatch' || result.reason === 'hospital-mismatch'
            ? 'proof-invalid'
            : result.reason;
      throw new TamperError(reason, result.detail);
    }
    return {
      seq: info.seq,
      category: categoryOf(info.resourceType),
      resource,
      leaf,
      leafHash: computedLeaf,
      proof: (info.proof ?? null) as Hex[] | null,
      anchor,
      state: info.state,
    };
  }
}

/** Fields holding a resource's clinical date, in the order they are tried. */
const DATE_PATHS: string[][] = [
  ['effectiveDateTime'],
  ['effectivePeriod', 'start'],
  ['effectiveInstant'],
  ['period', 'start'],
  ['onsetDateTime'],
  ['onsetPeriod', 'start'],
  ['performedDateTime'],
  ['performedPeriod', 'start'],
  ['occurrenceDateTime'],
  ['authoredOn'],
  ['recordedDate'],
  ['issued'],
  ['date'],
  ['created'],
  ['billablePeriod', 'start'],
  ['started'],
];

/** The clinical date of a resource in epoch ms, or null (Patient: none — a birth date is not a record date). */
export function clinicalDate(resource: Record<string, unknown>): number | null {
  if (resource.resourceType === 'Patient') return null;
  for (const path of DATE_PATHS) {
    let v: unknown = resource;
    for (const key of path) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined;
    if (typeof v === 'string') {
      const ms = Date.parse(v.length === 4 ? `${v}-01-01` : v.length === 7 ? `${v}-01` : v);
      if (!Number.isNaN(ms)) return ms;
    }
  }
  return null;
}
