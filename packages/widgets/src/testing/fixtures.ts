/**
 * Loading the shared fixtures in a browser. The test runner (web-test-runner.config.mjs) serves
 * `shared/fixtures` at `/fixtures/`; Storybook maps the same folder with `staticDirs`. Set
 * `fixtureBase` when they live elsewhere.
 */
import type { Bundle } from 'fhir/r4';

export const SYNTHEA_FILES = [
  'tiny-clemente-kreiger.json',
  'small-louis-erdman.json',
  'medium-dennis-durgan.json',
  'large-laticia-dibbert.json',
  'xlarge-stewart-stanton.json',
] as const;
export type SyntheaFile = (typeof SYNTHEA_FILES)[number];

let fixtureBase = '/fixtures';

/** Where `shared/fixtures` is served from (default `/fixtures`). */
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
  id: string;
  where: string;
  payload: string;
  contentType?: string;
}

export interface XssCorpus {
  oracle: string;
  narrative: XssPayload[];
  strings: XssPayload[];
  urls: XssPayload[];
  attachments: XssPayload[];
}

/** The XSS corpus (`shared/fixtures/xss/payloads.json`). */
export function loadXssCorpus(): Promise<XssCorpus> {
  return getJson<XssCorpus>('xss/payloads.json');
}
