import canonicalizeJson from 'canonicalize';
import { bufferSource, toHex, memoryHex32, type Hex } from './hex.js';
import { canonicalBytes, hashCanonical, UNUSUAL, writerFree } from './jcs-writer.js';
import { DIGEST, sha256Bytes, sha256Wasm } from './sha256-wasm.js';

/** Thrown when a value handed to the record model is not a FHIR resource (a JSON object with a `resourceType`). */
export class NotAFhirResourceError extends TypeError {
  override readonly name = 'NotAFhirResourceError';
  constructor(readonly reason: string) {
    super(`not a FHIR resource: ${reason}`);
  }
}

/** The minimal shape every FHIR resource has; `fhir/r4` resources satisfy it. */
export interface FhirResourceLike {
  resourceType: string;
  id?: string;
  meta?: { versionId?: string };
  [key: string]: unknown;
}

/** Throws {@link NotAFhirResourceError} unless `value` is a plain object with a non-empty string `resourceType`. */
export function assertFhirResource(value: unknown): asserts value is FhirResourceLike {
  if (value === null || typeof value !== 'object')
    throw new NotAFhirResourceError(`expected an object, got ${value === null ? 'null' : typeof value}`);
  if (Array.isArray(value)) throw new NotAFhirResourceError('expected an object, got an array');
  const resourceType = (value as { resourceType?: unknown }).resourceType;
  if (typeof resourceType !== 'string' || !isResourceTypeName(resourceType)) {
    throw new NotAFhirResourceError('missing or malformed resourceType');
  }
}

/** `/^[A-Z][A-Za-z]+$/` without a regular expression (checked for every verified record). */
function isResourceTypeName(name: string): boolean {
  if (name.length < 2) return false;
  const first = name.charCodeAt(0);
  if (first < 65 || first > 90) return false;
  for (let i = 1; i < name.length; i++) {
    const c = name.charCodeAt(i) | 0x20; // A-Z → a-z
    if (c < 97 || c > 122) return false;
  }
  return true;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The canonical JSON text of a FHIR resource: top-level `meta` and `text` removed (they change
 * without the clinical content changing), then RFC 8785 (JCS) canonicalization.
 *
 * Numbers are whatever JSON.parse made of them: JCS serializes IEEE-754 doubles, so `1.50` and
 * `1.5` are the same content, `1e2` becomes `100`, and integers above 2^53 must travel as strings
 * (FHIR's integer64 already does). Only the top-level `meta`/`text` go: FHIR forbids narrative and
 * version metadata in contained resources (dom-4), so there is nothing to strip deeper.
 */
export function canonicalJson(resource: unknown): string {
  assertFhirResource(resource);
  return canonicalJsonOf(resource);
}

function canonicalJsonOf(resource: FhirResourceLike): string {
  const bytes = canonicalBytesOf(resource);
  return typeof bytes === 'string' ? bytes : decoder.decode(bytes);
}

/**
 * The canonical UTF-8 bytes from the single-pass writer (src/jcs-writer.ts), or — for anything
 * outside plain JSON data, which the writer leaves alone — the canonical text from the
 * `canonicalize` package.
 */
function canonicalBytesOf(resource: FhirResourceLike): Uint8Array | string {
  if (writerFree()) {
    try {
      return canonicalBytes(resource, sha256Wasm()?.mem);
    } catch (error) {
      if (error !== UNUSUAL && !(error instanceof RangeError)) throw error;
    }
  }
  return libraryJson(resource);
}

/**
 * The `canonicalize` package's text of the resource without meta/text: the path for anything
 * unusual (toJSON, class instances, lone surrogates, non-finite numbers, cycles, very deep
 * nesting); its errors become NotAFhirResourceError.
 */
function libraryJson(resource: FhirResourceLike): string {
  const { meta: _meta, text: _text, ...content } = resource;
  let json: string | undefined;
  try {
    json = canonicalizeJson(content);
  } catch (error) {
    throw new NotAFhirResourceError(`cannot canonicalize: ${(error as Error).message}`);
  }
  if (json === undefined) throw new NotAFhirResourceError('has no JSON representation');
  return json;
}

/** UTF-8 bytes of {@link canonicalJson}. */
export function canonicalize(resource: unknown): Uint8Array {
  assertFhirResource(resource);
  const bytes = canonicalBytesOf(resource);
  return typeof bytes === 'string' ? encoder.encode(bytes) : bytes;
}

/** SHA-256 (WebCrypto) of bytes. */
export async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bufferSource(bytes)));
}

/** `0x` + hex SHA-256 of the resource's canonical bytes: the `contentHash` of its record leaf. */
export async function contentHash(resource: unknown): Promise<Hex> {
  const hash = contentHashNow(resource);
  return typeof hash === 'string' ? hash : toHex(new Uint8Array(await hash));
}

/**
 * The content hash now (WebAssembly SHA-256, no await) when possible, else WebCrypto's pending
 * digest. Throws {@link NotAFhirResourceError} synchronously.
 */
export function contentHashNow(resource: unknown): Hex | Promise<ArrayBuffer> {
  assertFhirResource(resource);
  return contentHashOfResource(resource);
}

/** {@link contentHashNow} of a value the caller already checked with {@link assertFhirResource}. */
export function contentHashOfResource(resource: FhirResourceLike): Hex | Promise<ArrayBuffer> {
  const digest = contentDigestOfResource(resource);
  return digest instanceof Uint8Array ? memoryHex32(digest, DIGEST) : digest;
}

/**
 * The content hash of a checked resource: the WebAssembly SHA-256's memory with the digest at
 * {@link DIGEST} (valid until the next hash), or WebCrypto's pending digest. Lets the verifier
 * compare bytes without making hex.
 */
export function contentDigestOfResource(resource: FhirResourceLike): Uint8Array | Promise<ArrayBuffer> {
  const s = sha256Wasm();
  if (s && writerFree()) {
    // The usual case: the canonical JSON is written straight through the WebAssembly SHA-256.
    try {
      hashCanonical(s, resource);
      return s.mem;
    } catch (error) {
      if (error !== UNUSUAL && !(error instanceof RangeError)) throw error;
    }
    sha256Bytes(s, encoder.encode(libraryJson(resource)));
    return s.mem;
  }
  // WebAssembly refused (or a getter re-entered mid-hash): WebCrypto. digest() copies its input
  // before returning its promise.
  const bytes = canonicalBytesOf(resource);
  return crypto.subtle.digest(
    'SHA-256',
    bufferSource(typeof bytes === 'string' ? encoder.encode(bytes) : bytes),
  );
}
