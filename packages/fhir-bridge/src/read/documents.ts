/**
 * Documents: an uploaded file becomes a FHIR DocumentReference (anchored like any record) whose
 * attachment points at the file's encrypted content on IPFS (`ipfs://<cid>`, chunked envelope,
 * see chunked.ts). Upload and download both stream: the file is hashed, encrypted chunk by chunk
 * and added to Kubo as it arrives; a download is fetched, decrypted and sent chunk by chunk.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { contentHash, envelopeRecipients, openEnvelope, sealEnvelope, type Hex } from '@ehr-anchor/core';
import type { DocumentReference } from 'fhir/r4';
import type { KuboRPCClient } from 'kubo-rpc-client';
import type { KeyStore } from '../keys/keystore.js';
import { CHUNKED_FORMAT, ChunkedError, decryptChunked, encryptChunked } from './chunked.js';
import { HttpError } from '../errors.js';
import { GoneError, TamperError } from './records.js';
import type { ReadStore } from './store.js';

export const ENCRYPTION_EXTENSION = 'urn:ehr-anchor:content-encryption';
export const SHA256_EXTENSION = 'urn:ehr-anchor:content-sha256';

/** Types a browser may show inline; everything else is a download (`Content-Disposition: attachment`). */
export const SAFE_INLINE = new Set([
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'text/plain',
  'application/pdf',
]);

export function sanitizeContentType(value: string | undefined): string {
  const v = (value ?? '').toLowerCase().split(';')[0]!.trim();
  return /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/.test(v)
    ? v
    : 'application/octet-stream';
}

function docKeyAad(docId: string): string {
  return `ehr-anchor/doc-key/v1/${docId}`;
}
function contentAad(docId: string): string {
  return `ehr-anchor/doc-content/v1/${docId}`;
}

export interface StoredContent {
  docId: string;
  cid: string;
  size: number;
  sha1: string;
  sha256: string;
}

/**
 * `ipfs add` of a byte stream over Kubo's HTTP RPC with a streaming multipart body, so memory stays
 * flat (kubo-rpc-client's `add` assembles the whole request body in memory first). Same defaults as
 * `ipfs add --cid-version=1 --raw-leaves --pin`; returns the root CID.
 */
export async function addStream(apiUrl: string, source: AsyncIterable<Uint8Array>): Promise<string> {
  const boundary = `----ehr-anchor-${randomBytes(12).toString('hex')}`;
  const head = Buffer.from(
    `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="content"\r\ncontent-type: application/octet-stream\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  async function* multipartBody(): AsyncGenerator<Uint8Array> {
    yield head;
    yield* source;
    yield tail;
  }
  const url = new URL(
    `${apiUrl.replace(/\/$/, '')}/api/v0/add?cid-version=1&raw-leaves=true&pin=true&progress=false&quieter=true`,
  );
  // node:http with pipeline() waits for 'drain' on every write (undici's fetch reads a streamed
  // request body ahead of the socket, which held most of a 200 MB upload in memory).
  const response = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        method: 'POST',
        headers: {
          'content-type': `multipart/form-data; boundary=${boundary}`,
          'transfer-encoding': 'chunked',
        },
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(parts).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    pipeline(Readable.from(multipartBody(), { objectMode: false, highWaterMark: 1 }), req).catch(reject);
  });
  if (response.status !== 200) throw new Error(`Kubo add failed with ${response.status}`);
  const lines = response.text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { Hash?: string });
  const hash = lines[lines.length - 1]?.Hash;
  if (!hash) throw new Error('Kubo add returned no CID');
  return hash;
}

/**
 * `ipfs cat` over Kubo's HTTP RPC as a node:http response stream: it is read only as fast as the
 * download consumes it (kubo-rpc-client's `cat` goes through fetch, which reads ahead of the consumer
 * and let a fast 200 MB download grow the heap by more than half the file).
 */
export async function* catStream(apiUrl: string, cid: string, timeoutMs = 60_000): AsyncGenerator<Buffer> {
  const url = new URL(`${apiUrl.replace(/\/$/, '')}/api/v0/cat?arg=${encodeURIComponent(cid)}`);
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST' }, resolve);
    req.on('error', reject);
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`Kubo cat timed out after ${timeoutMs} ms`)));
    req.end();
  });
  if (res.statusCode !== 200) {
    res.resume();
    throw new Error(`Kubo cat failed with ${res.statusCode}`);
  }
  for await (const chunk of res) yield chunk as Buffer;
}

/**
 * `catStream` from the first node that answers (this bridge's node, then the peers holding
 * replicas). A node is skipped only before its first byte; the chunk tags and the content hash
 * are checked by the caller whichever node served the bytes.
 */
export async function* catStreamAny(apiUrls: readonly string[], cid: string): AsyncGenerator<Buffer> {
  let lastError: unknown;
  for (const url of apiUrls) {
    const stream = catStream(url, cid);
    let first: IteratorResult<Buffer>;
    try {
      first = await stream.next();
    } catch (error) {
      lastError = error;
      continue;
    }
    if (first.done) return;
    yield first.value;
    yield* stream;
    return;
  }
  throw lastError instanceof Error ? lastError : new Error('no IPFS node could serve the content');
}

/** Encrypts a plaintext stream into Kubo (pinned) and keeps the content key, wrapped, in the key table. */
export async function storeContent(
  deps: {
    ipfs: KuboRPCClient;
    ipfsApiUrl: string;
    keyStore: KeyStore;
    store: ReadStore;
    replicate?: (cid: string) => void;
  },
  source: AsyncIterable<Uint8Array>,
  onProgress?: (bytes: number) => void,
): Promise<StoredContent> {
  const docId = randomUUID();
  const key = new Uint8Array(randomBytes(32));
  const sha1 = createHash('sha1');
  const sha256 = createHash('sha256');
  let size = 0;
  async function* hashed(): AsyncGenerator<Uint8Array> {
    for await (const chunk of source) {
      sha1.update(chunk);
      sha256.update(chunk);
      size += chunk.length;
      onProgress?.(size);
      yield chunk;
    }
  }
  const cid = await addStream(deps.ipfsApiUrl, encryptChunked(hashed(), key, contentAad(docId)));
  deps.replicate?.(cid);
  const wrapped = await sealEnvelope({
    plaintext: key,
    aad: docKeyAad(docId),
    recipients: [deps.keyStore.activeKey()],
  });
  key.fill(0);
  deps.store.putDocKey(docId, wrapped);
  return { docId, cid, size, sha1: sha1.digest('base64'), sha256: sha256.digest('hex') };
}

export function documentReference(input: {
  content: StoredContent;
  contentType: string;
  title: string;
  date: string;
  category: string;
  patientRef: DocumentReference['subject'];
  author: string;
}): DocumentReference {
  const { content } = input;
  const date = input.date.length === 10 ? `${input.date}T00:00:00Z` : new Date(input.date).toISOString();
  return {
    resourceType: 'DocumentReference',
    id: content.docId,
    meta: { versionId: '1' },
    status: 'current',
    docStatus: 'final',
    category: [
      {
        text: input.category,
        ...(/^\d{1,7}-\d$/.test(input.category)
          ? { coding: [{ system: 'http://loinc.org', code: input.category }] }
          : {}),
      },
    ],
    subject: input.patientRef,
    date,
    author: [{ identifier: { system: 'urn:ietf:rfc:3986', value: input.author } }],
    description: input.title,
    content: [
      {
        attachment: {
          contentType: input.contentType,
          size: content.size,
          hash: content.sha1,
          title: input.title,
          url: `ipfs://${content.cid}`,
          creation: date,
          extension: [
            { url: ENCRYPTION_EXTENSION, valueString: CHUNKED_FORMAT },
            { url: SHA256_EXTENSION, valueString: content.sha256 },
          ],
        },
      },
    ],
  };
}

export async function documentHash(doc: DocumentReference): Promise<Hex> {
  return contentHash(doc);
}

export interface OpenedContent {
  contentType: string;
  size: number;
  title: string | undefined;
  /** Plaintext chunks; throws TamperError mid-stream if anything does not match. */
  stream: AsyncGenerator<Buffer>;
}

/** Streams the decrypted content of a verified DocumentReference; checks chunk tags, size and SHA-256. */
export async function openContent(
  deps: {
    ipfs: KuboRPCClient;
    ipfsApiUrl?: string;
    ipfsPeers?: readonly string[];
    keyStore: KeyStore;
    store: ReadStore;
  },
  doc: DocumentReference,
): Promise<OpenedContent> {
  const attachment = doc.content?.find(
    (c) => c.attachment?.url?.startsWith('ipfs://') || c.attachment?.data,
  )?.attachment;
  const url = attachment?.url;
  if (!attachment)
    throw new HttpError(404, 'not-found', 'this DocumentReference has no content the bridge holds');
  if (!url?.startsWith('ipfs://')) {
    // Inline content (e.g. Synthea's clinical notes): part of the resource, so already verified with it.
    const bytes = Buffer.from(attachment.data!, 'base64');
    return {
      contentType: attachment.contentType ?? 'application/octet-stream',
      size: bytes.length,
      title: attachment.title,
      stream: (async function* () {
        yield bytes;
      })(),
    };
  }
  const cid = url.slice('ipfs://'.length);
  const expectedSha = attachment.extension?.find((e) => e.url === SHA256_EXTENSION)?.valueString;
  const wrapped = deps.store.docKey(doc.id!);
  if (!wrapped) throw new GoneError(null);
  let key: Uint8Array | undefined;
  for (const entry of envelopeRecipients(wrapped)) {
    const k = deps.keyStore.key(entry.keyId);
    if (k) {
      key = await openEnvelope(wrapped, { aad: docKeyAad(doc.id!), key: k });
      break;
    }
  }
  if (!key) throw new GoneError(null);
  const size = attachment.size ?? 0;
  const { ipfs, ipfsApiUrl, ipfsPeers = [] } = deps;
  const docId = doc.id!;
  async function* plaintext(): AsyncGenerator<Buffer> {
    const sha = createHash('sha256');
    let n = 0;
    try {
      const ciphertext = ipfsApiUrl
        ? catStreamAny([ipfsApiUrl, ...ipfsPeers], cid)
        : ipfs.cat(cid, { timeout: 60_000 });
      for await (const chunk of decryptChunked(ciphertext, key!, contentAad(docId))) {
        sha.update(chunk);
        n += chunk.length;
        yield chunk;
      }
    } catch (error) {
      if (error instanceof ChunkedError)
        throw new TamperError('cid-mismatch', `document content: ${error.message}`);
      throw error;
    }
    if (n !== size || (expectedSha && sha.digest('hex') !== expectedSha)) {
      throw new TamperError('content-changed', 'document content does not match its anchored size and hash');
    }
  }
  return {
    contentType: attachment.contentType ?? 'application/octet-stream',
    size,
    title: attachment.title,
    stream: plaintext(),
  };
}

/** Reads small content fully (so a tampered file gets an explicit 409 before any byte is sent). */
export async function bufferIfSmall(opened: OpenedContent, limit: number): Promise<Readable | Buffer> {
  if (opened.size > limit) return Readable.from(opened.stream, { objectMode: false, highWaterMark: 1 });
  const parts: Buffer[] = [];
  for await (const c of opened.stream) parts.push(c);
  return Buffer.concat(parts);
}
