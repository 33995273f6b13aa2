/**
 * Narrative (Resource.text.div) and URL hygiene. Narrative is XHTML from the hospital's FHIR
 * server, i.e. untrusted: DOMPurify with a narrow allow-list (FHIR's own narrative rules forbid
 * scripts, forms, frames and event handlers; we additionally drop SVG/MathML, styles and images,
 * which a record view never needs and which carry most mXSS/CSS vectors).
 */
import type { DOMPurify as Purifier } from 'dompurify';

/** URL schemes a record may link to. Everything else (javascript:, data:, vbscript:, blob:) is shown as text. */
const SAFE_SCHEMES = new Set(['http:', 'https:', 'mailto:', 'tel:']);

/**
 * The URL if it is absolute and uses a safe scheme, else undefined. Parsing with `URL` (not a
 * regex) sees the same scheme the browser would, so whitespace/tab/case tricks do not pass.
 */
export function safeUrl(value: string | undefined): string | undefined {
  if (!value) return undefined;
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    return undefined;
  }
  return SAFE_SCHEMES.has(url.protocol) ? url.href : undefined;
}

const ALLOWED_TAGS = [
  'div',
  'p',
  'span',
  'br',
  'hr',
  'b',
  'strong',
  'i',
  'em',
  'u',
  'small',
  'sub',
  'sup',
  'code',
  'pre',
  'blockquote',
  'ul',
  'ol',
  'li',
  'dl',
  'dt',
  'dd',
  'table',
  'thead',
  'tbody',
  'tfoot',
  'tr',
  'th',
  'td',
  'caption',
  'colgroup',
  'col',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'a',
];
const ALLOWED_ATTR = ['href', 'title', 'colspan', 'rowspan', 'scope', 'lang', 'dir'];

/*
 * DOMPurify is a third of the elements' code and only a record with a narrative needs it, so it is
 * loaded on first use (its own chunk in the ESM builds). Until it is here nothing of the narrative
 * is rendered: there is no unsanitized path.
 */
let purifier: Purifier | undefined;
let loading: Promise<void> | undefined;

/** Loads DOMPurify (once); resolves when `sanitizeNarrative` can sanitize. */
export function sanitizerReady(): Promise<void> {
  loading ??= import('dompurify').then(({ default: p }) => {
    hook(p);
    purifier = p;
  });
  return loading;
}

function hook(DOMPurify: Purifier): void {
  DOMPurify.addHook('afterSanitizeAttributes', (node) => {
    if (node instanceof Element && node.tagName === 'A') {
      const href = safeUrl(node.getAttribute('href') ?? undefined);
      if (href) {
        node.setAttribute('href', href);
        node.setAttribute('target', '_blank');
        node.setAttribute('rel', 'noopener noreferrer nofollow');
      } else {
        node.removeAttribute('href');
      }
    }
  });
}

/**
 * A sanitized DocumentFragment of a narrative, ready to render as a node (no re-parse of a
 * string after sanitizing, so no mutation-XSS window); undefined until `sanitizerReady()` resolved
 * (and that load is started).
 */
export function sanitizeNarrative(html: string): DocumentFragment | undefined {
  if (!purifier) {
    void sanitizerReady();
    return undefined;
  }
  return purifier.sanitize(html, {
    ALLOWED_TAGS,
    ALLOWED_ATTR,
    ALLOW_DATA_ATTR: false,
    ALLOW_ARIA_ATTR: false,
    RETURN_DOM_FRAGMENT: true,
    // Our hook re-checks hrefs with URL parsing; this keeps anything else URL-ish out as well.
    ALLOWED_URI_REGEXP: /^(?:https?:|mailto:|tel:)/i,
  });
}
