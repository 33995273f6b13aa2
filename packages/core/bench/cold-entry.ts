// Bundled by bench.ts into a fresh Chromium page for the cold row: only what a page that verifies
// records loads (`@ehr-anchor/core/record`), and nothing of it runs before the timed first pass.
import { verifierReady, verifyRecords, type Hex, type LeafInput } from '../src/record.js';

export interface ColdInput {
  texts: string[];
  leaves: LeafInput[];
  proofs: Hex[][];
  root: Hex;
  subject: Hex;
  hospital: string;
  warmPasses: number;
}

export interface ColdSample {
  /** ms of the page's first verifyRecords over all records (after `verifierReady()`, as a page awaits it). */
  cold: number;
  /** ms from navigation start until `verifierReady()` resolved (module load + warm-up). */
  ready: number;
  /** median ms of the following passes. */
  warm: number;
  /** plain WebCrypto SHA-256 of the raw JSON bytes, all at once: first pass and median of the following. */
  plainCold: number;
  plainWarm: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function runCold(input: ColdInput): Promise<ColdSample> {
  const resources = input.texts.map((t) => JSON.parse(t) as unknown);
  const raw = input.texts.map((t) => new TextEncoder().encode(t));
  const inputs = () =>
    resources.map((resource, i) => ({
      resource,
      leaf: input.leaves[i]!,
      proof: input.proofs[i]!,
      root: input.root,
      subject: input.subject,
      hospital: input.hospital,
      anchoredBy: input.hospital,
    }));
  const plain = async () => {
    const t = performance.now();
    await Promise.all(raw.map((b) => crypto.subtle.digest('SHA-256', b)));
    return performance.now() - t;
  };
  const verify = async () => {
    const list = inputs();
    const t = performance.now();
    const results = await verifyRecords(list);
    const ms = performance.now() - t;
    if (results.some((r) => r.status !== 'verified')) throw new Error('a record did not verify');
    return ms;
  };
  await verifierReady();
  const ready = performance.now();
  const plainCold = await plain();
  const cold = await verify();
  const warm: number[] = [];
  const plainWarm: number[] = [];
  for (let i = 0; i < input.warmPasses; i++) {
    plainWarm.push(await plain());
    warm.push(await verify());
  }
  return { cold, ready, warm: median(warm), plainCold, plainWarm: median(plainWarm) };
}

Object.assign(globalThis, { runCold });
