/**
 * `@ehr-anchor/testkit/browser-fixtures`: the repository's fixtures in a browser (element tests,
 * Storybook, benches). The widgets' test runner serves `fixtures/` at `/fixtures/`; Storybook maps
 * the same folders with `staticDirs`. No Node imports here.
 */
import type { Bundle } from 'fhir/r4';
import type { SyntheaFile } from './fixture-names.js';

export { SYNTHEA_FILES, type SyntheaFile } from './fixture-names.js';

let fixtureBase = '/fixtures';

/** Where `fixtures/` is served from (default `/fixtures`). */
export function setFixtureBase(url: string): void {
  fixtureBase = url.replace(/\/$/, '');
}

async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(`${fixtureBase}/${path}`);
  if (!res.ok) throw new Error(`fixture ${path}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

/** One Synthea transaction bundle (one patient). */
export function loadSyntheaBundle(file: SyntheaFile): Promise<Bundle> {
  return getJson<Bundle>(`fhir/synthea/${file}`);
}

export interface XssPayload {
  /** Written into `window.__ehrXss` by the payload if it ever runs. */
  id: string;
  /** Which FHIR fields it is meant for. */
  where: string;
  /** The vector family, in a few words. */
  family: string;
  payload: string;
  /** Attachments: the content type it is labelled with. */
  contentType?: string;
}

export interface XssCorpus {
  oracle: string;
  narrative: XssPayload[];
  strings: XssPayload[];
  urls: XssPayload[];
  attachments: XssPayload[];
}

/** The XSS corpus (`fixtures/xss/payloads.json`). */
export function loadXssCorpus(): Promise<XssCorpus> {
  return getJson<XssCorpus>('xss/payloads.json');
}
