import canonicalizeJson from 'canonicalize';
import { bufferSource, toHex, memoryHex32, type Hex } from './hex.js';
import { sha256SyncHex } from './keccak.js';
import { DIGEST, sha256Input, sha256Wasm } from './sha256-wasm.js';

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
  if (value === null || typeof value !== 'object') throw new NotAFhirResourceError(`expected an object, got ${value === null ? 'null' : typeof value}`);
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
  try {
    const json = JSON.stringify(sortedCopy(resource, true));
    // JSON.stringify writes a lone surrogate (in a key or a string) as the escape `\udXXX`, which
    // JCS forbids. Looking for `\ud` once in the output is far cheaper than asking every string
    // (String#isWellFormed is a slow call in Chromium); a hit (or an escaped backslash before
    // literal "ud" text) goes to the library, which rejects the one and agrees on the other.
    if (json.indexOf('\\ud') === -1) return json;
  } catch (error) {
    if (error !== UNUSUAL && !(error instanceof RangeError)) throw error;
  }
  // Anything unusual (toJSON, class instances, lone surrogates, non-finite numbers, digit-leading
  // keys, cycles): the `canonicalize` package decides, and its errors become NotAFhirResourceError.
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

const UNUSUAL = Symbol('unusual');

/**
 * RFC 8785's own recipe for ECMAScript (sections 3.2.2-3.2.3, appendix A): sort keys by UTF-16
 * code units, then `JSON.stringify` — whose number and string serialization IS the one JCS
 * specifies. This fast path builds a key-sorted copy of plain JSON data (what `JSON.parse` gives)
 * and lets the engine's native `JSON.stringify` serialize it; anything outside plain JSON data
 * throws UNUSUAL so the `canonicalize` package handles it. Property tests check that both paths
 * give identical text.
 */
function sortedCopy(value: unknown, topLevel = false): unknown {
  switch (typeof value) {
    case 'string':
      return value; // lone surrogates: see canonicalJson
    case 'number':
      if (!Number.isFinite(value)) throw UNUSUAL;
      return value;
    case 'boolean':
      return value;
    case 'object': {
      if (value === null) return null;
      // A subtree that is already canonical (keys in order, nothing to replace) is returned as is
      // instead of copied: JSON.stringify serializes it identically, and FHIR is full of them
      // (one-key references, arrays of strings, sorted codings), so most allocations go.
      if (Array.isArray(value)) {
        if (Object.getPrototypeOf(value) !== Array.prototype || 'toJSON' in value) throw UNUSUAL;
        let out: unknown[] | undefined;
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          const mapped = item === undefined || typeof item === 'function' || typeof item === 'symbol' ? null : sortedCopy(item);
          if (out) out.push(mapped);
          else if (mapped !== item) {
            out = value.slice(0, i) as unknown[];
            out.push(mapped);
          }
        }
        return out ?? value;
      }
      if (Object.getPrototypeOf(value) !== Object.prototype || typeof (value as { toJSON?: unknown }).toJSON === 'function') throw UNUSUAL;
      const keys = Object.keys(value);
      // Default sort compares UTF-16 code units, exactly JCS's property order; so does `<`.
      let inOrder = !topLevel; // the top level always loses meta/text: always a copy
      for (let i = 1; inOrder && i < keys.length; i++) if (keys[i - 1]! > keys[i]!) inOrder = false;
      if (!inOrder) sortKeys(keys);
      let out: Record<string, unknown> | undefined = inOrder ? undefined : {};
      for (let k = 0; k < keys.length; k++) {
        const key = keys[k]!;
        if (topLevel && (key === 'meta' || key === 'text')) continue;
        // Digit-leading keys would be reordered numerically by the engine; __proto__ is special.
        const first = key.charCodeAt(0);
        if ((first >= 48 && first <= 57) || key === '__proto__') throw UNUSUAL;
        const item: unknown = (value as Record<string, unknown>)[key];
        // JSON.stringify drops these members itself, so they need no copy.
        if (item === undefined || typeof item === 'function' || typeof item === 'symbol') continue;
        const mapped = sortedCopy(item);
        if (out) out[key] = mapped;
        else if (mapped !== item) {
          out = {};
          for (let j = 0; j < k; j++) {
            const earlier: unknown = (value as Record<string, unknown>)[keys[j]!];
            if (earlier !== undefined && typeof earlier !== 'function' && typeof earlier !== 'symbol') out[keys[j]!] = earlier;
          }
          out[key] = mapped;
        }
      }
      return out ?? value;
    }
    default:
      throw UNUSUAL;
  }
}

/**
 * Sorts keys by UTF-16 code units (what `<` on strings and the default sort compare): insertion
 * sort for the handful of keys a FHIR object has (cheaper than Array#sort's setup), else the default sort.
 */
function sortKeys(keys: string[]): void {
  if (keys.length > 16) {
    keys.sort();
    return;
  }
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i]!;
    let j = i - 1;
    while (j >= 0 && keys[j]! > key) {
      keys[j + 1] = keys[j]!;
      j--;
    }
    keys[j + 1] = key;
  }
}

/** UTF-8 bytes of {@link canonicalJson}. */
export function canonicalize(resource: unknown): Uint8Array {
  return encoder.encode(canonicalJson(resource));
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

/** Canonical bytes up to this size are hashed on WebAssembly when it runs; bigger ones by WebCrypto (native speed beats the await). */
const SYNC_HASH_LIMIT = 64 * 1024;

/**
 * The content hash now (WebAssembly SHA-256, no await) when possible, else WebCrypto's pending
 * digest. Throws {@link NotAFhirResourceError} synchronously.
 */
export function contentHashNow(resource: unknown): Hex | Promise<ArrayBuffer> {
  return contentHashOf(canonicalJson(resource));
}

/** {@link contentHashNow} of a value the caller already checked with {@link assertFhirResource}. */
export function contentHashOfResource(resource: FhirResourceLike): Hex | Promise<ArrayBuffer> {
  return contentHashOf(canonicalJsonOf(resource));
}

function contentHashOf(json: string): Hex | Promise<ArrayBuffer> {
  const s = sha256Wasm();
  if (s) {
    // The usual case: encode straight into the WebAssembly SHA-256's input area and hash in place.
    const { read, written } = encoder.encodeInto(json, s.input);
    if (read === json.length) {
      sha256Input(s, written);
      return memoryHex32(s.mem, DIGEST);
    }
  }
  // Encode into a reused buffer: the WebAssembly hash is synchronous, and digest() copies its input
  // before returning its promise, so the buffer is free again at once (even with many in flight).
  if (scratch.length < json.length * 3) scratch = new Uint8Array(Math.max(json.length * 3, 2 * scratch.length));
  const { written } = encoder.encodeInto(json, scratch);
  const bytes = scratch.subarray(0, written);
  return (written <= SYNC_HASH_LIMIT ? sha256SyncHex(bytes) : undefined) ?? crypto.subtle.digest('SHA-256', bytes);
}

let scratch = new Uint8Array(64 * 1024);
