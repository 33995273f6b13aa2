import canonicalizeJson from 'canonicalize';
import { bufferSource, toHex, type Hex } from './hex.js';

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
  if (typeof resourceType !== 'string' || !/^[A-Z][A-Za-z]+$/.test(resourceType)) {
    throw new NotAFhirResourceError('missing or malformed resourceType');
  }
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
  return encoder.encode(canonicalJson(resource));
}

/** SHA-256 (WebCrypto) of bytes. */
export async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bufferSource(bytes)));
}

/** `0x` + hex SHA-256 of the resource's canonical bytes: the `contentHash` of its record leaf. */
export async function contentHash(resource: unknown): Promise<Hex> {
  return toHex(await sha256(canonicalize(resource)));
}
