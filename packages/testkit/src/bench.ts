/**
 * What every area's benchmark shares: percentiles, number formatting, Markdown tables, the load
 * average printed with every figure, CPU time of processes from /proc, and the summary rows that
 * `npm run bench` (root, scripts/bench.ts) collects into one table in docs/benchmarks.md.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';

/** The p-th percentile of ascending `sorted` (nearest rank); NaN when empty. */
export function pct(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function median(xs: readonly number[]): number {
  return pct(
    [...xs].sort((a, b) => a - b),
    50,
  );
}

/** A number with thousands separators and `digits` decimals ("–" when not finite). */
export const fmt = (n: number, digits = 0): string =>
  Number.isFinite(n)
    ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : '–';

/** A Markdown table, first column left-aligned, the rest right-aligned. */
export function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    `| ${widths.map((w, i) => (i === 0 ? (cells[i] ?? '').padEnd(w) : (cells[i] ?? '').padStart(w))).join(' | ')} |`;
  return [
    line(head),
    `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`,
    ...rows.map(line),
  ].join('\n');
}

/** The load average (1 / 5 / 15 min), printed with every figure. */
export const loadAverage = (): string =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' / ');

/** CPU seconds (user + system, all threads) a process has used so far, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Starts counting CPU seconds of named processes; the returned function reads what each used since. */
export function cpuMeter(pids: Record<string, number>): () => Record<string, number> {
  const start = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid)]));
  return () => Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid) - start[k]!]));
}

/** One row of the table `npm run bench` writes. */
export interface BenchSummaryRow {
  area: string;
  what: string;
  figure: string;
  /** The baseline or target it is compared with, in words. */
  against?: string;
}

/**
 * Appends summary rows (with the load average now) as JSON lines to the file named by
 * EHR_BENCH_SUMMARY — set by the root `npm run bench`; without it, nothing is written.
 */
export function benchSummary(rows: readonly BenchSummaryRow[]): void {
  const file = process.env.EHR_BENCH_SUMMARY;
  if (!file) return;
  const load = loadAverage();
  for (const row of rows) appendFileSync(file, `${JSON.stringify({ ...row, load })}\n`);
}
