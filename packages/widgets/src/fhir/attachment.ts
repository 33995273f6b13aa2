import type { Attachment } from 'fhir/r4';

/** Bytes of a base64 string (Attachment.data). */
export function base64ToBytes(b64: string): Uint8Array<ArrayBuffer> {
  const bin = atob(b64.replace(/\s+/g, ''));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function bytesToBase64(bytes: Uint8Array): string {
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

/** The media type without parameters, lower-case (`text/plain; charset=utf-8` → `text/plain`). */
export function mediaType(att: Attachment): string {
  return (att.contentType ?? 'application/octet-stream').split(';')[0]!.trim().toLowerCase();
}

/** How the viewer may show an attachment once verified. */
export type AttachmentView = 'image' | 'text' | 'frame' | 'download-only';

const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);
// Active formats are rendered only in a sandboxed frame without allow-scripts (no script, no
// same-origin, no forms, no popups).
const FRAME_TYPES = new Set(['text/html', 'application/xhtml+xml', 'image/svg+xml']);

export function attachmentView(att: Attachment): AttachmentView {
  const type = mediaType(att);
  if (IMAGE_TYPES.has(type)) return 'image';
  if (
    type === 'text/plain' ||
    type === 'text/csv' ||
    type === 'application/json' ||
    type === 'application/fhir+json'
  )
    return 'text';
  if (FRAME_TYPES.has(type)) return 'frame';
  return 'download-only';
}

/** FHIR `Attachment.hash` is the base64 SHA-1 of the data; checks it when present. */
export async function attachmentHashMatches(
  att: Attachment,
  bytes: Uint8Array<ArrayBuffer>,
): Promise<boolean | undefined> {
  if (!att.hash) return undefined;
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-1', bytes));
  return bytesToBase64(digest) === att.hash;
}
