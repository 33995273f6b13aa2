// `npm run size:breakdown -w packages/widgets`: what is inside "all elements without ethers".
// Builds that output of the root rollup.config.mjs in memory, takes every module's rendered code
// (rollup's `modules[id].code`, after tree-shaking), minifies it alone with terser, gzips it alone,
// and groups by package. A module gzipped alone is larger than its share of the one gzip stream
// (no shared dictionary), so the table also prints each group's minified bytes and the real total.
import { gzipSync } from 'node:zlib';
import { rollup } from 'rollup';
import { minify } from 'terser';
import { sizeConfigs } from '../../../rollup.config.mjs';

const KB = 1024;
const gz = (s) => gzipSync(Buffer.from(s), { level: 9 }).length;
const fmt = (n) => (n / KB).toFixed(1);

function group(id) {
  const clean = id.replace(/^\0/, '').replace(/\?.*$/, '');
  const nm = clean.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = clean.slice(nm + 14).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  const pk = clean.match(/\/packages\/([^/]+)\/(.*)$/);
  if (pk) {
    if (pk[1] === 'widgets') {
      const el = pk[2].match(/^src\/components\/([^/]+)\//);
      return el ? `widgets: <${el[1]}>` : `widgets: ${pk[2].split('/').slice(0, 2).join('/')}`;
    }
    return `@ehr-anchor/${pk[1]}: ${pk[2]}`;
  }
  return clean.startsWith('/') ? clean : `virtual: ${clean}`;
}

/** The entry and every chunk it imports statically (transitively): what a page loads up front. */
export function eagerClosure(chunks) {
  const byName = new Map(chunks.map((c) => [c.fileName, c]));
  const seen = new Set();
  const visit = (name) => {
    if (seen.has(name) || !byName.has(name)) return;
    seen.add(name);
    for (const i of byName.get(name).imports) visit(i);
  };
  for (const c of chunks) if (c.isEntry) visit(c.fileName);
  return seen;
}

export async function breakdown(which = 'without-ethers') {
  const config = sizeConfigs()[which];
  const bundle = await rollup({ ...config, output: undefined });
  const { output } = await bundle.generate({ ...config.output, file: undefined, dir: undefined });
  await bundle.close();
  const groups = new Map();
  const chunks = output.filter((c) => c.type === 'chunk');
  const eagerNames = eagerClosure(chunks);
  let total = { raw: 0, gz: 0, names: [] };
  const lazy = [];
  for (const chunk of chunks) {
    const isEager = eagerNames.has(chunk.fileName);
    // chunk.code is the build's own output (the config minifies with terser).
    const chunkGz = gz(chunk.code);
    if (isEager)
      total = {
        raw: total.raw + chunk.code.length,
        gz: total.gz + chunkGz,
        names: [...total.names, chunk.fileName],
      };
    else
      lazy.push({
        name: chunk.fileName,
        raw: chunk.code.length,
        gz: chunkGz,
        modules: Object.keys(chunk.modules).map(group),
      });
    for (const [id, m] of Object.entries(chunk.modules)) {
      if (!m.code) continue;
      const g = group(id);
      const key = isEager ? g : `${g} (lazy)`;
      const e = groups.get(key) ?? { group: g, code: [], modules: 0, lazy: !isEager };
      e.code.push(`{\n${m.code}\n}`); // a block each: names of different chunks may repeat
      e.modules += 1;
      groups.set(key, e);
    }
  }
  const rows = [];
  for (const e of groups.values()) {
    const g = e.group;
    const code = e.code.join('\n');
    const m = await minify(code, {
      ecma: 2022,
      module: true,
      compress: false,
      mangle: true,
      format: { comments: false },
    });
    rows.push({ group: g, modules: e.modules, min: m.code.length, gz: gz(m.code), lazy: e.lazy });
  }
  rows.sort((a, b) => b.gz - a.gz);
  return { rows, total, lazy };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const which = process.argv[2] ?? 'without-ethers';
  const { rows, total, lazy } = await breakdown(which);
  console.log(`| group (${which}) | modules | min KB | gz alone KB | lazy |`);
  console.log('|---|---:|---:|---:|---|');
  for (const r of rows)
    console.log(`| ${r.group} | ${r.modules} | ${fmt(r.min)} | ${fmt(r.gz)} | ${r.lazy ? 'lazy' : ''} |`);
  const sum = rows.filter((r) => !r.lazy).reduce((s, r) => s + r.gz, 0);
  console.log(
    `\neager (${total.names.join(' + ')}): ${fmt(total.raw)} KB min, ${fmt(total.gz)} KB gz (sum of eager groups gzipped alone: ${fmt(sum)} KB)`,
  );
  for (const l of lazy)
    console.log(
      `lazy chunk ${l.name}: ${fmt(l.raw)} KB min, ${fmt(l.gz)} KB gz (${[...new Set(l.modules)].join(', ')})`,
    );
}
