/**
 * Length limits the registry enforces (`EhrRegistry.MAX_NAME_LENGTH`, `MAX_URL_LENGTH`), for forms to
 * check before a transaction is sent. In UTF-8 bytes; test/limits.test.ts compares them with the chain.
 */
export const MAX_NAME_LENGTH = 128;
export const MAX_ENDPOINT_URL_LENGTH = 256;

/** The length the registry measures: UTF-8 bytes. */
export function utf8Length(text: string): number {
  return new TextEncoder().encode(text).length;
}
