/**
 * Chunked envelope for document content (`ehr-anchor-chunked/v1`): the core envelope is one-shot
 * (AES-GCM over the whole plaintext), which would hold a 200 MB upload in memory twice. This frames
 * the content as independently authenticated chunks (the STREAM construction of Hoang, Reyhanitabar,
 * Rogaway and Vizár), so it is encrypted and decrypted in constant memory.
 *
 *   offset size  field
 *   0      4     magic "EHRC"
 *   4      1     version = 1
 *   5      1     flags = 0
 *   6      4     chunk size C (plaintext bytes per chunk, big-endian)
 *   10     7     nonce prefix (random per document)
 *   17     …     chunks: AES-256-GCM ciphertext of C plaintext bytes + 16-byte tag, the last one
 *                shorter (possibly empty); nonce = prefix ‖ counter (4 bytes BE) ‖ last (1 byte: 1 on
 *                the final chunk, else 0); AAD = the 17 header bytes ‖ the document AAD.
 *
 * Reordered, dropped, duplicated or appended chunks fail (counter and last flag are in the nonce),
 * a truncated stream fails (no chunk flagged last), and a file moved to another document fails (AAD).
 * The 32-byte content key is not in these bytes: it is sealed with the core envelope to the
 * hospital key and kept in the bridge's key table, so deleting that row crypto-shreds the
 * content wherever copies of the ciphertext live.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export const CHUNKED_MAGIC = Buffer.from('EHRC');
export const CHUNKED_VERSION = 1;
export const CHUNKED_FORMAT = 'ehr-anchor-chunked/v1';
export const DEFAULT_CHUNK = 1024 * 1024;
const HEADER = 17;
const TAG = 16;

export class ChunkedError extends Error {
  override readonly name = 'ChunkedError';
}

function nonce(prefix: Buffer, counter: number, last: boolean): Buffer {
  const n = Buffer.alloc(12);
  prefix.copy(n, 0, 0, 7);
  n.writeUInt32BE(counter, 7);
  n[11] = last ? 1 : 0;
  return n;
}

function seal(
  key: Uint8Array,
  header: Buffer,
  aad: Buffer,
  counter: number,
  last: boolean,
  plain: Buffer,
): Buffer {
  const cipher = createCipheriv('aes-256-gcm', key, nonce(header.subarray(10, 17), counter, last));
  cipher.setAAD(Buffer.concat([header, aad]));
  return Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
}

/** Re-slices an async byte stream into pieces of exactly `size` bytes (the last may be shorter). */
async function* rechunk(source: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let have = 0;
  for await (const piece of source) {
    let buf = Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    while (buf.length > 0) {
      const take = Math.min(size - have, buf.length);
      parts.push(buf.subarray(0, take));
      have += take;
      buf = buf.subarray(take);
      if (have === size) {
        yield Buffer.concat(parts, size);
        parts = [];
        have = 0;
      }
    }
  }
  if (have > 0 || parts.length > 0) yield Buffer.concat(parts, have);
}

/** Encrypts a plaintext stream into the chunked format; constant memory (about two chunks). */
export async function* encryptChunked(
  source: AsyncIterable<Uint8Array>,
  key: Uint8Array,
  aad: string,
  chunkSize = DEFAULT_CHUNK,
): AsyncGenerator<Buffer> {
  if (key.length !== 32) throw new ChunkedError('content key must be 32 bytes');
  const header = Buffer.alloc(HEADER);
  CHUNKED_MAGIC.copy(header, 0);
  header[4] = CHUNKED_VERSION;
  header[5] = 0;
  header.writeUInt32BE(chunkSize, 6);
  randomBytes(7).copy(header, 10);
  const aadBytes = Buffer.from(aad, 'utf8');
  yield header;
  let counter = 0;
  let pending: Buffer | undefined;
  for await (const chunk of rechunk(source, chunkSize)) {
    if (pending) yield seal(key, header, aadBytes, counter++, false, pending);
    pending = chunk;
  }
  yield seal(key, header, aadBytes, counter, true, pending ?? Buffer.alloc(0));
}

/** Decrypts the chunked format as it streams; throws {@link ChunkedError} on any altered, missing or extra byte. */
export async function* decryptChunked(
  source: AsyncIterable<Uint8Array>,
  key: Uint8Array,
  aad: string,
): AsyncGenerator<Buffer> {
  const aadBytes = Buffer.from(aad, 'utf8');
  let header: Buffer | undefined;
  let counter = 0;
  let frame = HEADER;
  // Pieces not yet decrypted; joined only once a whole frame (or the header) is there, so each byte is copied once.
  let parts: Buffer[] = [];
  let have = 0;
  const take = (n: number): Buffer => {
    const all = parts.length === 1 ? parts[0]! : Buffer.concat(parts, have);
    const rest = all.subarray(n);
    parts = rest.length ? [rest] : [];
    have = rest.length;
    return all.subarray(0, n);
  };
  const open = (bytes: Buffer, last: boolean): Buffer => {
    const decipher = createDecipheriv('aes-256-gcm', key, nonce(header!.subarray(10, 17), counter, last));
    decipher.setAAD(Buffer.concat([header!, aadBytes]));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG));
    try {
      return Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - TAG)), decipher.final()]);
    } catch {
      throw new ChunkedError(`chunk ${counter} failed authentication`);
    }
  };
  for await (const piece of source) {
    parts.push(Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength));
    have += piece.byteLength;
    if (!header) {
      if (have < HEADER) continue;
      header = Buffer.from(take(HEADER));
      if (!header.subarray(0, 4).equals(CHUNKED_MAGIC) || header[4] !== CHUNKED_VERSION || header[5] !== 0) {
        throw new ChunkedError('not an ehr-anchor chunked envelope');
      }
      frame = header.readUInt32BE(6) + TAG;
    }
    // Keep one full frame back: only the stream's end tells whether a full frame is the last one.
    while (have > frame) {
      yield open(take(frame), false);
      counter++;
    }
  }
  if (!header) throw new ChunkedError('truncated header');
  if (have < TAG) throw new ChunkedError('truncated: no final chunk');
  yield open(Buffer.concat(parts, have), true);
}

/** Ciphertext size of `plaintextSize` bytes in this format. */
export function chunkedSize(plaintextSize: number, chunkSize = DEFAULT_CHUNK): number {
  const chunks = Math.max(1, Math.ceil(plaintextSize / chunkSize));
  return HEADER + plaintextSize + chunks * TAG;
}
