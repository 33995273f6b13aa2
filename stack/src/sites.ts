/**
 * The dev hospitals of the local stack and where each one's parts live: data directories, ports
 * and the keys in `ctx.values` under which a part publishes its URLs. Hospital A keeps the names
 * and ports the single-hospital stack always had; hospital B's are suffixed `B` (`bridgeUrlB`,
 * `.data/bridge-b`, `EHR_BRIDGE_B_PORT`, …), its default ports one above A's.
 *
 * `EHR_HOSPITALS=1` runs hospital A alone (small machines); the default is both.
 */
import type { DevHospitalKey } from './hospital-fixtures.js';

export interface Site {
  key: DevHospitalKey;
  /** "A" or "B" (table rows, log lines). */
  letter: 'A' | 'B';
  /** Suffix of this hospital's `ctx.values` keys (`''` for A, `'B'` for B). */
  suffix: '' | 'B';
  /** Suffix of its directories under `.data/` (`''` for A, `'-b'` for B). */
  dir: '' | '-b';
  /** DEV_KEYS name of its bridge signer. */
  bridgeKey: 'bridgeA' | 'bridgeB';
}

export const SITES: Record<DevHospitalKey, Site> = {
  hospitalA: { key: 'hospitalA', letter: 'A', suffix: '', dir: '', bridgeKey: 'bridgeA' },
  hospitalB: { key: 'hospitalB', letter: 'B', suffix: 'B', dir: '-b', bridgeKey: 'bridgeB' },
};

/** How many hospitals `npm start` runs: `EHR_HOSPITALS` (1 or 2, default 2). */
export function hospitalsWanted(env: NodeJS.ProcessEnv = process.env): 1 | 2 {
  const raw = env.EHR_HOSPITALS ?? '2';
  if (raw !== '1' && raw !== '2') throw new Error(`EHR_HOSPITALS must be 1 or 2, not ${raw}`);
  return raw === '1' ? 1 : 2;
}

/** The hospitals a stack context runs (`ctx.values.hospitals`; absent = 1, as parts run alone in tests). */
export function sitesOf(values: Record<string, string>): Site[] {
  return values.hospitals === '2' ? [SITES.hospitalA, SITES.hospitalB] : [SITES.hospitalA];
}

/**
 * A port from the environment: A reads `name` (e.g. EHR_BRIDGE_PORT), B reads its `_B_` variant
 * (EHR_BRIDGE_B_PORT) and otherwise takes A's port + 1 (0 stays 0: OS-chosen).
 */
export function portOf(
  site: Site,
  name: string,
  fallback: number,
  env: NodeJS.ProcessEnv = process.env,
): number {
  const a = Number(env[name] ?? fallback);
  if (site.letter === 'A') return a;
  const own = env[name.replace(/^EHR_([A-Z]+)_/, 'EHR_$1_B_')];
  if (own !== undefined) return Number(own);
  return a === 0 ? 0 : a + 1;
}

/** The `ctx.values` key of `name` for a site (`bridgeUrl` → `bridgeUrlB`). */
export function valueKey(site: Site, name: string): string {
  return `${name}${site.suffix}`;
}
