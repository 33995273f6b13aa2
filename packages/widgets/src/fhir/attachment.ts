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

/** File name extensions per media type, the usual one first. */
const EXTENSIONS: Record<string, readonly string[]> = {
  'application/pdf': ['pdf'],
  'image/png': ['png'],
  'image/jpeg': ['jpg', 'jpeg'],
  'image/gif': ['gif'],
  'image/webp': ['webp'],
  'image/tiff': ['tif', 'tiff'],
  'image/svg+xml': ['svg'],
  'text/plain': ['txt', 'text'],
  'text/csv': ['csv'],
  'text/html': ['html', 'htm'],
  'application/xhtml+xml': ['xhtml'],
  'application/json': ['json'],
  'application/fhir+json': ['json'],
  'application/xml': ['xml'],
  'text/xml': ['xml'],
  'application/fhir+xml': ['xml'],
  'application/dicom': ['dcm'],
  'application/zip': ['zip'],
  'application/msword': ['doc'],
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': ['docx'],
  'application/rtf': ['rtf'],
  'text/rtf': ['rtf'],
};

/**
 * The file name a download gets: the attachment's title (characters file systems refuse replaced,
 * at most 120 characters) with the extension of its content type added when the title does not
 * already end in it ("Large scanned report (6 MB)" + `application/pdf` →
 * "Large scanned report (6 MB).pdf"). Without a title: "attachment-<n>.<ext>".
 */
export function downloadName(att: Attachment, index = 0): string {
  const exts = EXTENSIONS[mediaType(att)] ?? [];
  const base =
    (att.title ?? '')
      // eslint-disable-next-line no-control-regex -- control characters are what is removed
      .replace(/[\u0000-\u001f\u007f/\\:*?"<>|]+/g, ' ')
      .replace(/\s+/g, ' ')
      // No hidden file, no "..": leading dots and spaces go.
      .replace(/^[.\s]+/, '')
      .slice(0, 120)
      .trim() || `attachment-${index + 1}`;
  const ext = /\.([A-Za-z0-9]{1,5})$/.exec(base)?.[1]?.toLowerCase();
  if (!exts.length || (ext && exts.includes(ext))) return base;
  return `${base}.${exts[0]}`;
}

/**
 * How the viewer may show an attachment once verified: `pdf` in the browser's own PDF viewer (see
 * {@link looksLikePdf}), `frame` in a sandboxed frame without scripts.
 */
export type AttachmentView = 'image' | 'text' | 'frame' | 'pdf' | 'download-only';

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
  if (type === 'application/pdf') return 'pdf';
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

/**
 * Whether bytes are a PDF: they start with `%PDF-` (readers allow junk before it; a preview does
 * not). A PDF is previewed in the browser's PDF viewer, which runs in its own origin and process (Chromium
 * does not load it in a sandboxed frame at all); the bytes must be a PDF, and the frame's blob is
 * typed `application/pdf`, so nothing in the page's origin ever interprets them as a document.
 */
export function looksLikePdf(bytes: Uint8Array): boolean {
  return String.fromCharCode(...bytes.subarray(0, 5)) === '%PDF-';
}
