// Prints the gzip size of every build output against the budgets of issue 8; with --strict it exits
// non-zero when a budget is exceeded. Run after `npm run build -w packages/widgets`.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const KB = 1024;
const budgets = {
  'size/elements-without-ethers.min.js': { label: 'all elements without ethers', max: 40 * KB },
  'bundle/ehr-anchor-widgets.min.js': { label: 'one-file bundle (lit + ethers inside)', max: 160 * KB },
};

function files(dir) {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.js') ? [p] : [];
  });
}

const gz = (p) => gzipSync(readFileSync(p), { level: 9 }).length;
const fmt = (n) => `${(n / KB).toFixed(1)} KB`;

export function sizeRows() {
  const rows = [];
  for (const [file, b] of Object.entries(budgets)) {
    const p = join(dist, file);
    const size = gz(p);
    rows.push({ output: file, what: b.label, raw: statSync(p).size, gzip: size, budget: b.max, ok: size <= b.max });
  }
  const esm = files(join(dist, 'esm'));
  let total = 0;
  for (const p of esm) {
    const size = gz(p);
    total += size;
    rows.push({ output: relative(dist, p), what: 'ESM (dependencies external)', raw: statSync(p).size, gzip: size });
  }
  rows.push({ output: 'esm/**', what: 'all ESM outputs together', raw: 0, gzip: total });
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = sizeRows();
  console.log('| output | what | raw | gzip | budget | |');
  console.log('|---|---|---:|---:|---:|---|');
  for (const r of rows) {
    console.log(`| ${r.output} | ${r.what} | ${r.raw ? fmt(r.raw) : ''} | ${fmt(r.gzip)} | ${r.budget ? fmt(r.budget) : ''} | ${r.budget ? (r.ok ? 'ok' : 'OVER') : ''} |`);
  }
  const over = rows.filter((r) => r.budget && !r.ok);
  if (over.length) console.log(`\n${over.length} output(s) over budget: ${over.map((r) => r.output).join(', ')}`);
  if (over.length && process.argv.includes('--strict')) process.exit(1);
}
