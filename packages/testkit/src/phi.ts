/**
 * The PHI scanner: finds the fixture patients' identifying data in bytes that must never hold it —
 * chain calldata and events, raw IPFS blocks, logs, the bridge's own stores, HTTP bodies.
 *
 * The terms are every identifying field of every fixture Patient (ids, identifiers, names, telecom,
 * address lines, city, postal code, geolocation, birth and death dates, birthplace, mother's maiden
 * name). Each is looked for in the encodings a leak takes on its way out: as UTF-8 text, JSON-escaped,
 * URL-encoded, as lowercase and uppercase hex (calldata, topics) and as base64 and base64url at each
 * of the three byte alignments (a term inside a longer base64 string shares its first and last
 * characters with its neighbours, so only the characters it fully determines are looked for).
 * A number (a postal code, a coordinate) counts as text only where it is not part of a longer
 * token: "01887" is a postal code, not the middle of a timestamp in a log line or of a hex hash.
 *
 * Hits say where, never what is leaked: a test's failure message must not print patient data
 * either, so a hit names the patient by fixture position and the field, not the value.
 */
import type { Patient } from 'fhir/r4';
import { fixturePatients } from './fixtures.js';

/** Shorter strings ("MA", "Lee") turn up by chance. */
export const MIN_TERM_LENGTH = 5;

export interface PhiTerm {
  /** The identifying string. */
  term: string;
  /** Where it comes from, without the value: `patient 7 name.given`. */
  field: string;
}

export interface PhiHit extends PhiTerm {
  /** How it was found: `text`, `json`, `url`, `hex`, `HEX`, `base64@0..2`, `base64url@0..2`. */
  form: string;
  /** Byte offset of the first occurrence. */
  offset: number;
}

/** The identifying strings of one Patient, each with the field it comes from. */
export function patientTerms(patient: Patient, label: string): PhiTerm[] {
  const out: PhiTerm[] = [];
  const add = (field: string, value: unknown) => {
    if (typeof value === 'number') value = String(value);
    if (typeof value === 'string' && value.length >= MIN_TERM_LENGTH)
      out.push({ term: value, field: `${label} ${field}` });
  };
  const address = (field: string, a: NonNullable<Patient['address']>[number]) => {
    for (const line of a.line ?? []) add(`${field}.line`, line);
    add(`${field}.city`, a.city);
    add(`${field}.district`, a.district);
    add(`${field}.postalCode`, a.postalCode);
    add(`${field}.text`, a.text);
    for (const ext of a.extension ?? [])
      for (const sub of ext.extension ?? []) add(`${field}.${sub.url}`, sub.valueDecimal);
  };
  add('id', patient.id);
  for (const i of patient.identifier ?? [])
    add(`identifier (${i.type?.text ?? i.system ?? 'no type'})`, i.value);
  for (const n of patient.name ?? []) {
    add('name.family', n.family);
    for (const g of n.given ?? []) add('name.given', g);
    add('name.text', n.text);
    add('name (given family)', [...(n.given ?? []), n.family].filter(Boolean).join(' '));
    add('name (family, given)', [n.family, (n.given ?? []).join(' ')].filter(Boolean).join(', '));
  }
  for (const t of patient.telecom ?? []) add(`telecom.${t.system ?? 'value'}`, t.value);
  for (const a of patient.address ?? []) address('address', a);
  add('birthDate', patient.birthDate);
  add('deceasedDateTime', patient.deceasedDateTime);
  for (const ext of patient.extension ?? []) {
    if (ext.url.endsWith('patient-mothersMaidenName')) add('mothersMaidenName', ext.valueString);
    if (ext.url.endsWith('patient-birthPlace') && ext.valueAddress) address('birthPlace', ext.valueAddress);
  }
  for (const c of patient.contact ?? []) {
    add('contact.name.family', c.name?.family);
    for (const g of c.name?.given ?? []) add('contact.name.given', g);
    for (const t of c.telecom ?? []) add('contact.telecom', t.value);
    if (c.address) address('contact.address', c.address);
  }
  return out;
}

let fixtureTerms: PhiTerm[] | undefined;

/** The terms of every fixture Patient, one entry per distinct value (its first field). */
export function phiFixtureTerms(): PhiTerm[] {
  if (!fixtureTerms) {
    const seen = new Map<string, PhiTerm>();
    fixturePatients().forEach((p, i) => {
      for (const t of patientTerms(p, `patient ${i + 1}`)) if (!seen.has(t.term)) seen.set(t.term, t);
    });
    fixtureTerms = [...seen.values()].sort((a, b) => (a.term < b.term ? -1 : 1));
  }
  return fixtureTerms;
}

/** The distinct identifying strings of the fixture patients. */
export function phiTerms(): string[] {
  return phiFixtureTerms().map((t) => t.term);
}

/**
 * The base64 characters that depend on `bytes` alone when they sit `pad` bytes into a 3-byte
 * group: character i covers bits [6i, 6i+6) of the stream and the term holds bits
 * [8·pad, 8·(pad+n)).
 */
function base64Core(bytes: Buffer, pad: number): string {
  const encoded = Buffer.concat([Buffer.alloc(pad), bytes]).toString('base64');
  return encoded.slice(Math.ceil((8 * pad) / 6), Math.floor((8 * (pad + bytes.length)) / 6));
}

/** Every encoding of one term the scanner looks for (distinct needles only). */
export function phiForms(term: string): { form: string; needle: Buffer }[] {
  const bytes = Buffer.from(term, 'utf8');
  const hex = bytes.toString('hex');
  const forms: [string, string | Buffer][] = [
    ['text', bytes],
    ['json', JSON.stringify(term).slice(1, -1)],
    // Escaped non-ASCII, as JSON.stringify with an ASCII-only writer (e.g. some loggers) emits it.
    ['json', term.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)],
    ['url', encodeURIComponent(term)],
    ['hex', hex],
    ['HEX', hex.toUpperCase()],
  ];
  for (let pad = 0; pad < 3; pad++) {
    const core = base64Core(bytes, pad);
    forms.push([`base64@${pad}`, core]);
    forms.push([`base64url@${pad}`, core.replace(/\+/g, '-').replace(/\//g, '_')]);
  }
  const out: { form: string; needle: Buffer }[] = [];
  const seen = new Set<string>();
  for (const [form, value] of forms) {
    const needle = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    const key = needle.toString('latin1');
    if (needle.length < 4 || seen.has(key)) continue;
    seen.add(key);
    out.push({ form, needle });
  }
  return out;
}

interface Needle extends PhiTerm {
  form: string;
  bytes: Buffer;
  /** A number (postal code, coordinate) as text: only where no letter or digit stands right before or after it. */
  bounded: boolean;
}

const NUMERIC = /^[-+]?\d[\d.]*\d$/;
/** An ASCII letter or digit: a number next to one is part of a longer token (a timestamp, a hex hash, a CID). */
const isAlnum = (byte: number | undefined) =>
  byte !== undefined &&
  ((byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a));

/**
 * A compiled set of terms. Scanning is one pass over the bytes: a 64 Ki-entry filter of 2-byte
 * prefixes, then a map of 4-byte prefixes, then a full compare — megabytes of IPFS blocks are
 * scanned against thousands of needles without one pass per needle.
 */
export class PhiScanner {
  readonly terms: readonly PhiTerm[];
  readonly needleCount: number;
  readonly #filter = new Uint8Array(65536);
  readonly #byPrefix = new Map<number, Needle[]>();

  constructor(terms: readonly PhiTerm[] = phiFixtureTerms()) {
    this.terms = terms;
    let count = 0;
    for (const term of terms)
      for (const { form, needle } of phiForms(term.term)) {
        const key = needle.readUInt32BE(0);
        this.#filter[needle.readUInt16BE(0)] = 1;
        const list = this.#byPrefix.get(key) ?? [];
        const bounded = NUMERIC.test(term.term) && (form === 'text' || form === 'json' || form === 'url');
        list.push({ ...term, form, bytes: needle, bounded });
        this.#byPrefix.set(key, list);
        count++;
      }
    this.needleCount = count;
  }

  /** Every (term, form) found in `input`, at its first offset. Empty when the bytes are clean. */
  scan(input: Uint8Array | string): PhiHit[] {
    const buf =
      typeof input === 'string'
        ? Buffer.from(input, 'utf8')
        : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    const found = new Map<string, PhiHit>();
    const end = buf.length - 3;
    for (let i = 0; i < end; i++) {
      if (this.#filter[(buf[i]! << 8) | buf[i + 1]!] === 0) continue;
      const candidates = this.#byPrefix.get(buf.readUInt32BE(i));
      if (!candidates) continue;
      for (const n of candidates) {
        const key = `${n.term}\u0000${n.form}`;
        if (found.has(key) || i + n.bytes.length > buf.length) continue;
        if (n.bounded && (isAlnum(buf[i - 1]) || isAlnum(buf[i + n.bytes.length]))) continue;
        if (buf.compare(n.bytes, 0, n.bytes.length, i, i + n.bytes.length) === 0)
          found.set(key, { term: n.term, field: n.field, form: n.form, offset: i });
      }
    }
    return [...found.values()];
  }
}

let defaultScanner: PhiScanner | undefined;

/** Scans `input` for the fixture patients' terms (or for `terms`, when given). */
export function scanBytes(input: Uint8Array | string, terms?: readonly (string | PhiTerm)[]): PhiHit[] {
  if (!terms) return (defaultScanner ??= new PhiScanner()).scan(input);
  const byValue = new Map(phiFixtureTerms().map((t) => [t.term, t]));
  return new PhiScanner(
    terms.map((t) => (typeof t === 'string' ? (byValue.get(t) ?? { term: t, field: 'given term' }) : t)),
  ).scan(input);
}

/** A hit as a line that is safe to print: where and how, never the value. */
export function describeHit(hit: PhiHit): string {
  return `${hit.field} as ${hit.form} at byte ${hit.offset}`;
}
