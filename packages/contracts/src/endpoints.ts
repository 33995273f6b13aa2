/**
 * What a hospital's bridge serves, as bits of the `services` (uint32) of `EhrRegistry.setEndpoint` and
 * `endpointOf`, and the client-side check of the endpoint URL the chain only length-checks. Bit
 * positions are part of the on-chain format: append new services, never renumber.
 */
import { MAX_ENDPOINT_URL_LENGTH, utf8Length } from './limits.js';

export const ENDPOINT_SERVICES = {
  /** Consent-checked records of a patient: `GET /patients/{subject}/records`, `/records/{seq}`. */
  records: 1 << 0,
  /** Uploaded documents: `POST /documents`, `GET /documents/{seq}/content`. */
  documents: 1 << 1,
  /** Clinical entries written by doctors: `POST /patients/{subject}/entries`. */
  entries: 1 << 2,
  /** Patient search for doctors: `POST /patients/_search`. */
  search: 1 << 3,
  /** A patient's access log: `GET /patients/{subject}/access-log`. */
  accessLog: 1 << 4,
  /** The FHIR Consent mirror of a patient's grants: `GET /patients/{subject}/consents`. */
  consents: 1 << 5,
  /** Contact details a patient edits: `PUT /patients/{subject}/contact`. */
  contact: 1 << 6,
  /** Erasure requests: `/patients/{subject}/erasure-requests`. */
  erasure: 1 << 7,
  /** A live stream of record state changes for a signed-in session. */
  events: 1 << 8,
} as const;

export type EndpointService = keyof typeof ENDPOINT_SERVICES;

/** Every service a bridge of this version offers (the OR of ENDPOINT_SERVICES; a test keeps them equal). */
export const ALL_ENDPOINT_SERVICES = 0x1ff;

/** Bitmask of the given services. */
export function endpointServiceMask(services: Iterable<EndpointService>): number {
  let mask = 0;
  for (const s of services) mask |= ENDPOINT_SERVICES[s];
  return mask;
}

/** The services set in a bitmask (unknown bits ignored). */
export function endpointServices(mask: number): EndpointService[] {
  return (Object.keys(ENDPOINT_SERVICES) as EndpointService[]).filter(
    (s) => (mask & ENDPOINT_SERVICES[s]) !== 0,
  );
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Checks a bridge endpoint URL read from the chain (anyone registered as a hospital can publish any
 * string) before a portal connects to it: an absolute `https:` URL, or `http:` on a loopback host for
 * development; no credentials, query or fragment. Returns the normalized base URL without a trailing
 * slash, or throws a `TypeError` whose message says what is wrong, in words for an administrator.
 */
export function checkEndpointUrl(url: string): string {
  if (!url) throw new TypeError('The bridge address is empty.');
  if (utf8Length(url) > MAX_ENDPOINT_URL_LENGTH)
    throw new TypeError(`The bridge address is longer than ${MAX_ENDPOINT_URL_LENGTH} characters.`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError('The bridge address is not a web address (it should start with https://).');
  }
  const loopback = LOOPBACK_HOSTS.has(parsed.hostname);
  if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && loopback))
    throw new TypeError('The bridge address must start with https:// (plain http only on this computer).');
  if (parsed.username || parsed.password)
    throw new TypeError('The bridge address must not contain a user name or password.');
  if (parsed.search || parsed.hash || url.includes('?') || url.includes('#'))
    throw new TypeError('The bridge address must not contain a query (?) or a fragment (#).');
  return parsed.href.replace(/\/+$/, '');
}
