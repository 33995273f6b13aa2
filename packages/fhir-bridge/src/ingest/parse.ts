/**
 * Turns what a FHIR server pushes into a list of ingest items — pure functions, no I/O, so the
 * rules are easy to test and to fuzz. Shapes accepted:
 *
 * - REST-hook with payload: `POST /fhir/{type}`, `PUT /fhir/{type}/{id}` (HAPI delivers creates and
 *   updates as PUT), `DELETE /fhir/{type}/{id}`.
 * - Empty notifications: no body on `/fhir/{type}/{id}` (read that resource from the source) or on
 *   the base `/fhir` (HAPI's content-less rest-hook: pull what changed since the last pull).
 * - Bundles POSTed to the base `/fhir`: transaction, batch, collection, searchset, history.
 * - Topic-based subscription notifications (R5 `subscription-notification`, R4B/R4 backport
 *   `history` Bundles starting with SubscriptionStatus / Parameters): handshake and heartbeat are
 *   acknowledged; event notifications with full-resource, id-only or empty content.
 */
import { NotAFhirResourceError, assertFhirResource, type FhirResourceLike } from '@ehr-anchor/core';
import { FHIR_ID_PATTERN, isFhirId, isR4ResourceType } from '@ehr-anchor/core/api';
import { HttpError, badRequest, unsupported } from '../errors.js';

export type IngestItem =
  /** A resource version to anchor; `versionHint` from an ETag or `_history` URL when meta has none. */
  | { kind: 'resource'; resource: FhirResourceLike; versionHint?: string }
  /**
   * A deletion (tombstone) of a resource. `signed`: named inside a signed body (a Bundle entry);
   * `confirm`: the request's credential does not cover which resource, so the source must confirm.
   */
  | {
      kind: 'delete';
      resourceType: string;
      resourceId: string;
      versionId?: string;
      signed?: boolean;
      confirm?: boolean;
    }
  /** Read this resource (or this version) from the source server, then anchor it. */
  | { kind: 'fetch'; resourceType: string; resourceId: string; versionId?: string }
  /** Something changed but the notification does not say what: pull changes from the source. */
  | { kind: 'poll'; types?: string[] };

export type NotificationType =
  'handshake' | 'heartbeat' | 'event-notification' | 'query-status' | 'query-event';

export interface ParsedPush {
  items: IngestItem[];
  /** Set for topic-based subscription notifications. */
  notification?: { type: NotificationType; events: number };
}

/** The R4 `id` datatype (see {@link isFhirId} for what is actually accepted: not `.` or `..`). */
export const FHIR_ID = FHIR_ID_PATTERN;
const MAX_DEPTH = 64;
/** Resource types that may appear in a push only as a notification's status (R4B/R5), never anchored. */
const NOTIFICATION_STATUS_TYPES = new Set(['SubscriptionStatus']);

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Parses a push body. Refused with 400, naming where: not UTF-8; a byte order mark (RFC 8259 §8.1:
 * senders must not add one; refusing it keeps the signed bytes and the parsed text the same);
 * malformed JSON; nesting deeper than FHIR ever needs; a duplicate key in an object (JSON.parse
 * would silently keep the last one, so two readers could see two different resources: a PHI system
 * refuses the ambiguity); a number outside the IEEE-754 range (`1e400` would become Infinity,
 * which has no canonical form); a string with a lone UTF-16 surrogate (`"\ud800"`: no UTF-8 form).
 */
export function parseJson(raw: Buffer | undefined, options: { refuseProtoKeys?: boolean } = {}): unknown {
  if (!raw || raw.length === 0) return undefined;
  if (raw.length >= 3 && raw[0] === 0xef && raw[1] === 0xbb && raw[2] === 0xbf)
    throw badRequest('body starts with a UTF-8 byte order mark; send JSON without one (RFC 8259 §8.1)');
  let text: string;
  try {
    text = UTF8.decode(raw);
  } catch {
    throw badRequest('body is not valid UTF-8');
  }
  if (text.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw badRequest('body is not valid JSON');
  }
  checkTree(value, raw, options.refuseProtoKeys ?? false);
  return value;
}

/**
 * One pass over the parsed value: depth, out-of-range numbers, lone surrogates (in values and
 * keys), and the number of object members, compared with the number of name separators (`:`
 * outside strings) in the raw bytes: more separators than members means a duplicate key. Only
 * when something is wrong does a second, slower pass find the path to name it.
 */
function checkTree(value: unknown, raw: Uint8Array, refuseProtoKeys: boolean): void {
  let members = 0;
  let bad = false;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) bad = true;
      continue;
    }
    if (typeof v === 'string') {
      if (!v.isWellFormed()) bad = true;
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (depth > MAX_DEPTH) throw badRequest(`JSON nested deeper than ${MAX_DEPTH} levels`);
    if (Array.isArray(v)) {
      for (const child of v) stack.push([child, depth + 1]);
      continue;
    }
    for (const key in v) {
      members++;
      if (!key.isWellFormed()) bad = true;
      if (refuseProtoKeys && (key === '__proto__' || key === 'constructor'))
        throw badRequest('a JSON key __proto__ or constructor is not accepted here');
      stack.push([(v as Record<string, unknown>)[key], depth + 1]);
    }
  }
  if (bad || separators(raw) !== members) throw badRequest(describeProblem(value, raw));
}

/** `:` bytes outside JSON strings (each is one object member in valid JSON). */
function separators(raw: Uint8Array): number {
  let n = 0;
  let inString = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x3a) n++;
  }
  return n;
}

/** The FHIR-style path (`Observation.valueQuantity.value`, `Bundle.entry[2].resource.id`) of the first problem. */
function describeProblem(value: unknown, raw: Uint8Array): string {
  const root =
    value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as { resourceType?: unknown }).resourceType
      : undefined;
  const rootName = typeof root === 'string' && /^[A-Za-z]{1,64}$/.test(root) ? root : '(body)';
  const found = findProblem(value, rootName);
  if (found) return found;
  const duplicate = duplicateKeyPath(new TextDecoder().decode(raw), rootName);
  return duplicate
    ? `${duplicate}: duplicate key in a JSON object (ambiguous: refused)`
    : 'body could not be processed';
}

function findProblem(v: unknown, path: string): string | undefined {
  if (typeof v === 'number')
    return Number.isFinite(v) ? undefined : `${path}: number out of range (not a finite IEEE-754 double)`;
  if (typeof v === 'string')
    return v.isWellFormed() ? undefined : `${path}: string with a lone UTF-16 surrogate (not valid Unicode)`;
  if (v === null || typeof v !== 'object') return undefined;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const hit = findProblem(v[i], `${path}[${i}]`);
      if (hit) return hit;
    }
    return undefined;
  }
  for (const key in v) {
    if (!key.isWellFormed()) return `${path}: key with a lone UTF-16 surrogate (not valid Unicode)`;
    const hit = findProblem((v as Record<string, unknown>)[key], `${path}.${safeKey(key)}`);
    if (hit) return hit;
  }
  return undefined;
}

/** A key as it may appear in a message: FHIR element names are short words; anything else is not quoted back. */
function safeKey(key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(key) ? key : '(key)';
}

/** Walks valid JSON text and returns the path of the first key that repeats in its object. */
function duplicateKeyPath(text: string, rootName: string): string | undefined {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\r\n'.includes(text[i]!)) i++;
  };
  const str = (): string => {
    const start = i;
    i++;
    while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const walk = (path: string): string | undefined => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const keys = new Set<string>();
      ws();
      if (text[i] === '}') return void i++;
      for (;;) {
        ws();
        const key = str();
        const here = `${path}.${safeKey(key)}`;
        if (keys.has(key)) return here;
        keys.add(key);
        ws();
        i++; // ':'
        const hit = walk(here);
        if (hit) return hit;
        ws();
        if (text[i++] === '}') return undefined;
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') return void i++;
      for (let n = 0; ; n++) {
        const hit = walk(`${path}[${n}]`);
        if (hit) return hit;
        ws();
        if (text[i++] === ']') return undefined;
      }
    }
    if (c === '"') return void str();
    while (i < text.length && !',]} \t\r\n'.includes(text[i]!)) i++;
    return undefined;
  };
  return walk(rootName);
}

/** Asserts a FHIR resource, mapping the core error to a 400. */
export function asResource(value: unknown, where = 'body', allowStatus = false): FhirResourceLike {
  try {
    assertFhirResource(value);
  } catch (error) {
    if (error instanceof NotAFhirResourceError)
      throw badRequest(`${where} is not a FHIR resource: ${error.reason}`);
    throw error;
  }
  if (
    !isR4ResourceType(value.resourceType) &&
    !(allowStatus && NOTIFICATION_STATUS_TYPES.has(value.resourceType))
  )
    throw badRequest(`${where}.resourceType: not a FHIR R4 resource type`);
  if (value.id !== undefined && !isFhirId(value.id)) throw badRequest(`${where}.id: not a FHIR id`);
  if (
    value.meta !== undefined &&
    (value.meta === null || typeof value.meta !== 'object' || Array.isArray(value.meta))
  ) {
    throw badRequest(`${where}.meta: not an object`);
  }
  const versionId = value.meta?.versionId;
  if (versionId !== undefined && !isFhirId(versionId))
    throw badRequest(`${where}.meta.versionId: not a FHIR id`);
  return value;
}

export function checkType(type: string): string {
  if (!isR4ResourceType(type)) throw badRequest('path: not a FHIR R4 resource type');
  return type;
}

export function checkId(id: string, what = 'id'): string {
  if (!isFhirId(id)) throw badRequest(`path: ${what} is not a FHIR id`);
  return id;
}

/** `W/"3"` → `3`. */
function versionFromEtag(etag: unknown): string | undefined {
  if (typeof etag !== 'string') return undefined;
  const m = /^(?:W\/)?"([^"]{1,64})"$/.exec(etag.trim());
  return isFhirId(m?.[1]) ? m[1] : undefined;
}

/** `…/Type/id[/_history/vid]` or `urn:uuid:…` → parts. */
export function parseReference(ref: unknown): { type?: string; id: string; versionId?: string } | undefined {
  if (typeof ref !== 'string' || ref.length > 2048) return undefined;
  const uuid = /^urn:uuid:([A-Za-z0-9\-.]{1,64})$/.exec(ref);
  if (uuid) return isFhirId(uuid[1]) ? { id: uuid[1] } : undefined;
  const m =
    /(?:^|\/)([A-Z][A-Za-z]{1,63})\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/([A-Za-z0-9\-.]{1,64}))?\/?$/.exec(
      ref.split(/[?#]/)[0]!,
    );
  if (!m || !isR4ResourceType(m[1]) || !isFhirId(m[2]) || (m[3] !== undefined && !isFhirId(m[3])))
    return undefined;
  return { type: m[1], id: m[2], ...(m[3] ? { versionId: m[3] } : {}) };
}

/** A push to `/fhir/{type}[/{id}]`. */
export function parseResourcePush(
  method: string,
  type: string,
  id: string | undefined,
  body: unknown,
): ParsedPush {
  checkType(type);
  if (id !== undefined) checkId(id);
  if (method === 'DELETE') {
    if (id === undefined) throw badRequest('DELETE needs /fhir/{type}/{id}');
    return { items: [{ kind: 'delete', resourceType: type, resourceId: id }] };
  }
  if (body === undefined) {
    // Empty notification: the server told us what changed, not how it looks now.
    return {
      items: [
        id === undefined
          ? { kind: 'poll', types: [type] }
          : { kind: 'fetch', resourceType: type, resourceId: id },
      ],
    };
  }
  const resource = asResource(body);
  if (resource.resourceType !== type) throw badRequest('resourceType of the body differs from the URL');
  if (id !== undefined) {
    if (resource.id === undefined) resource.id = id;
    else if (resource.id !== id) throw badRequest('id of the body differs from the URL');
  }
  if (resource.id === undefined)
    throw unsupported('a resource without an id cannot be anchored (the FHIR server assigns ids)');
  return { items: [{ kind: 'resource', resource }] };
}

/** A push to the base `/fhir`: a Bundle, a bare resource, or nothing (empty notification). */
export function parseBasePush(body: unknown): ParsedPush {
  if (body === undefined) return { items: [{ kind: 'poll' }] };
  const resource = asResource(body);
  if (resource.resourceType !== 'Bundle') {
    if (resource.id === undefined) throw unsupported('a resource without an id cannot be anchored');
    return { items: [{ kind: 'resource', resource }] };
  }
  return parseBundle(resource);
}

interface BundleEntry {
  fullUrl?: unknown;
  resource?: unknown;
  request?: { method?: unknown; url?: unknown };
  response?: { etag?: unknown; location?: unknown };
}

function entriesOf(bundle: FhirResourceLike): BundleEntry[] {
  const entry = (bundle as { entry?: unknown }).entry;
  if (entry === undefined) return [];
  if (!Array.isArray(entry)) throw badRequest('Bundle.entry is not an array');
  return entry.map((e, i) => {
    if (e === null || typeof e !== 'object' || Array.isArray(e))
      throw badRequest(`Bundle.entry[${i}] is not an object`);
    const { request, response } = e as BundleEntry;
    if (request !== undefined && (request === null || typeof request !== 'object'))
      throw badRequest(`Bundle.entry[${i}].request is not an object`);
    if (response !== undefined && (response === null || typeof response !== 'object'))
      throw badRequest(`Bundle.entry[${i}].response is not an object`);
    return e as BundleEntry;
  });
}

/** Items of one Bundle entry of a transaction/batch/collection/searchset/history Bundle. */
function entryItem(e: BundleEntry, i: number): IngestItem | undefined {
  const method = typeof e.request?.method === 'string' ? e.request.method.toUpperCase() : undefined;
  if (method === 'DELETE') {
    const ref = parseReference(e.request?.url) ?? parseReference(e.fullUrl);
    if (!ref?.type) throw badRequest(`Bundle.entry[${i}]: DELETE without Type/id`);
    return { kind: 'delete', resourceType: ref.type, resourceId: ref.id, signed: true };
  }
  if (method === 'GET' || method === 'HEAD') return undefined; // reads change nothing
  if (e.resource === undefined) {
    if (method === 'PATCH') {
      const ref = parseReference(e.request?.url);
      if (!ref?.type) throw badRequest(`Bundle.entry[${i}]: PATCH without Type/id`);
      return { kind: 'fetch', resourceType: ref.type, resourceId: ref.id };
    }
    throw badRequest(`Bundle.entry[${i}] has no resource`);
  }
  const resource = asResource(e.resource, `Bundle.entry[${i}].resource`);
  if (resource.id === undefined) {
    // Transaction entries may carry their identity only in fullUrl (`urn:uuid:…`).
    const ref = parseReference(e.fullUrl);
    if (!ref) throw unsupported(`Bundle.entry[${i}]: a resource without an id cannot be anchored`);
    resource.id = ref.id;
  }
  const versionHint = versionFromEtag(e.response?.etag) ?? parseReference(e.fullUrl)?.versionId;
  return versionHint ? { kind: 'resource', resource, versionHint } : { kind: 'resource', resource };
}

const NOTIFICATION_TYPES = new Set<NotificationType>([
  'handshake',
  'heartbeat',
  'event-notification',
  'query-status',
  'query-event',
]);

interface StatusInfo {
  type: NotificationType;
  focus: { type?: string; id: string; versionId?: string }[];
}

/** Reads an R5/R4B SubscriptionStatus or an R4-backport Parameters status resource. */
function readStatus(resource: FhirResourceLike): StatusInfo | undefined {
  if (resource.resourceType === 'SubscriptionStatus') {
    const type = resource.type;
    if (typeof type !== 'string' || !NOTIFICATION_TYPES.has(type as NotificationType)) {
      throw unsupported('SubscriptionStatus.type is not a known notification type');
    }
    const events = Array.isArray(resource.notificationEvent) ? resource.notificationEvent : [];
    const focus = events.flatMap((ev: unknown) => {
      const ref = parseReference((ev as { focus?: { reference?: unknown } } | null)?.focus?.reference);
      return ref ? [ref] : [];
    });
    return { type: type as NotificationType, focus };
  }
  if (resource.resourceType === 'Parameters' && Array.isArray(resource.parameter)) {
    const params = resource.parameter as { name?: unknown; valueCode?: unknown; part?: unknown }[];
    const typeParam = params.find((p) => p?.name === 'type');
    if (!typeParam) return undefined;
    const type = typeParam.valueCode;
    if (typeof type !== 'string' || !NOTIFICATION_TYPES.has(type as NotificationType)) {
      throw unsupported('subscription status type is not a known notification type');
    }
    const focus = params
      .filter((p) => p?.name === 'notification-event' && Array.isArray(p.part))
      .flatMap((p) => {
        const part = (p.part as { name?: unknown; valueReference?: { reference?: unknown } }[]).find(
          (x) => x?.name === 'focus',
        );
        const ref = parseReference(part?.valueReference?.reference);
        return ref ? [ref] : [];
      });
    return { type: type as NotificationType, focus };
  }
  return undefined;
}

/** A Bundle POSTed to the base. */
export function parseBundle(bundle: FhirResourceLike): ParsedPush {
  const type = bundle.type;
  const entries = entriesOf(bundle);
  const first = entries[0]?.resource;
  const status =
    (type === 'subscription-notification' || type === 'history') && first !== undefined
      ? readStatus(asResource(first, 'Bundle.entry[0].resource', true))
      : undefined;
  if (type === 'subscription-notification' && !status)
    throw badRequest('subscription-notification without a status resource');
  if (status) return parseNotification(status, entries.slice(1));
  switch (type) {
    case 'transaction':
    case 'batch':
    case 'collection':
    case 'searchset':
    case 'history':
    case 'transaction-response':
    case 'batch-response': {
      const items = entries.flatMap((e, i) => {
        const item = entryItem(e, i);
        return item ? [item] : [];
      });
      return { items };
    }
    case 'document':
      // A FHIR document is itself the record: anchor the Bundle as one resource.
      if (bundle.id === undefined) throw unsupported('a document Bundle without an id cannot be anchored');
      return { items: [{ kind: 'resource', resource: bundle }] };
    default:
      throw unsupported(
        `Bundle.type ${typeof type === 'string' ? JSON.stringify(type.slice(0, 40)) : '(missing)'} is not supported`,
      );
  }
}

function parseNotification(status: StatusInfo, rest: BundleEntry[]): ParsedPush {
  const notification = { type: status.type, events: status.focus.length };
  if (status.type === 'handshake' || status.type === 'heartbeat' || status.type === 'query-status') {
    return { items: [], notification };
  }
  const items: IngestItem[] = [];
  rest.forEach((e, idx) => {
    const i = idx + 1;
    if (e.resource !== undefined) {
      const item = entryItem(e, i);
      if (item) items.push(item);
      return;
    }
    // id-only: the entry names the resource (fullUrl, or request.url) without carrying it.
    const method = typeof e.request?.method === 'string' ? e.request.method.toUpperCase() : undefined;
    const ref = parseReference(e.fullUrl) ?? parseReference(e.request?.url);
    if (!ref?.type) throw badRequest(`Bundle.entry[${i}]: id-only entry without a resolvable fullUrl`);
    if (method === 'DELETE')
      items.push({ kind: 'delete', resourceType: ref.type, resourceId: ref.id, signed: true });
    else
      items.push({
        kind: 'fetch',
        resourceType: ref.type,
        resourceId: ref.id,
        ...(ref.versionId ? { versionId: ref.versionId } : {}),
      });
  });
  if (items.length === 0) {
    // Empty content: the status lists the focus (maybe), never the resource.
    for (const f of status.focus) {
      if (f.type)
        items.push({
          kind: 'fetch',
          resourceType: f.type,
          resourceId: f.id,
          ...(f.versionId ? { versionId: f.versionId } : {}),
        });
    }
    if (items.length === 0) items.push({ kind: 'poll' });
  }
  return { items, notification };
}

export { HttpError };
