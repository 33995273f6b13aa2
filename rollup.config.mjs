// Build of @ehr-anchor/widgets (run by `npm run build -w packages/widgets`, after `tsc -b` wrote the .d.ts files):
//  1. dist/esm/       ESM per element for apps with a bundler: lit, ethers and every other dependency
//                     stay external (bare imports); shared code lands in chunks.
//  2. dist/bundle/    one minified file for a <script type="module"> tag: lit, DOMPurify, the virtualizer,
//                     the record-verification slice of core and the needed parts of ethers, all inside.
//  3. dist/size/      the same elements with ethers external: what the size budget "elements without ethers" measures
//                     (its entry and the chunks that entry imports statically; lazily imported chunks are reported apart).
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import commonjs from '@rollup/plugin-commonjs';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import terser from '@rollup/plugin-terser';
import MagicString from 'magic-string';
import { transform as esbuildTransform } from 'esbuild';
import esbuild from 'rollup-plugin-esbuild';

const root = dirname(fileURLToPath(import.meta.url));
const pkgDir = join(root, 'packages', 'widgets');
const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
/** Every element folder with a define file `src/components/<tag>/<tag>.ts`. */
const ELEMENTS = readdirSync(join(pkgDir, 'src', 'components')).filter((tag) =>
  existsSync(join(pkgDir, 'src', 'components', tag, `${tag}.ts`)),
);
/** Outputs carry content hashes; start clean so the size table never counts a stale chunk (only when writing). */
const clean = (dir) => ({
  name: 'clean-output',
  renderStart(o) {
    if (o.dir ?? o.file) rmSync(join(pkgDir, 'dist', dir), { recursive: true, force: true });
  },
});

const input = Object.fromEntries(ELEMENTS.map((e) => [e, join(pkgDir, 'src', 'components', e, `${e}.ts`)]));
const deps = Object.keys(pkg.dependencies ?? {});
const isDep = (id) => deps.some((d) => id === d || id.startsWith(`${d}/`));

/**
 * Lit templates and styles keep their source indentation, which terser cannot touch (it is string
 * content). In the static parts of our own html`…`/svg`…`/css`…` templates, a whitespace run that
 * holds a line break becomes one space — what the HTML and CSS parsers collapse it to anyway; CSS
 * also loses comments and the spaces around `{ } ;`. Templates with <pre>/<textarea> (where
 * whitespace is content) are left alone.
 */
function templateWhitespace() {
  const tags = new Set(['html', 'svg', 'css']);
  return {
    name: 'template-whitespace',
    transform(code, id) {
      if (!/\/packages\/widgets\/src\/.*\.ts$/.test(id) || !/(html|svg|css)`/.test(code)) return null;
      const ast = this.parse(code);
      const out = new MagicString(code);
      const visit = (node) => {
        if (!node || typeof node.type !== 'string') return;
        if (
          node.type === 'TaggedTemplateExpression' &&
          node.tag.type === 'Identifier' &&
          tags.has(node.tag.name)
        ) {
          const quasis = node.quasi.quasis;
          if (!quasis.some((q) => /<(pre|textarea)\b/i.test(q.value.raw))) {
            for (const q of quasis) {
              let raw = q.value.raw.replace(/[ \t]*\n\s*/g, ' ');
              if (node.tag.name === 'css')
                raw = raw.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\s*([{};])\s*/g, '$1');
              if (raw !== q.value.raw) out.overwrite(q.start, q.end, raw);
            }
          }
        }
        for (const key of Object.keys(node)) {
          const v = node[key];
          if (Array.isArray(v)) v.forEach(visit);
          else if (v && typeof v === 'object' && key !== 'loc') visit(v);
        }
      };
      visit(ast);
      return out.hasChanged() ? { code: out.toString(), map: out.generateMap({ hires: true }) } : null;
    },
  };
}

/**
 * esbuild lowers our standard decorators and `accessor` fields with helper functions
 * (`__decorateElement`, `__privateGet`, …) that it writes into every file: eight copies of the same
 * ~2 KB in a bundle. This moves them into one shared module. The canonical helpers come from esbuild
 * itself (a sample using every decorator kind, same target); a file's helper is replaced by an import
 * only when its text is identical, so a future esbuild with different helpers just keeps its copies.
 */
function sharedEsbuildHelpers() {
  const ID = '\0esbuild-helpers.js';
  const sample = `function d(..._a: unknown[]): any { return undefined; }
@d export class A extends Object { @d accessor a = 1; @d static accessor b = 1; @d m() {} @d static sm() {} @d get g() { return 1; } @d set g(v: number) {} @d f = 1; @d static sf = 1; #p = 1; q() { return #p in this; } }`;
  let helpers;
  const declared = (ast, code) =>
    ast.body
      .filter(
        (n) =>
          n.type === 'VariableDeclaration' &&
          n.declarations.length === 1 &&
          n.declarations[0].id.type === 'Identifier' &&
          n.declarations[0].id.name.startsWith('__'),
      )
      .map((n) => ({ node: n, name: n.declarations[0].id.name, text: code.slice(n.start, n.end) }));
  return {
    name: 'shared-esbuild-helpers',
    async buildStart() {
      const { code } = await esbuildTransform(sample, {
        loader: 'ts',
        target: 'es2022',
        tsconfigRaw: { compilerOptions: {} },
      });
      helpers = new Map(declared(this.parse(code), code).map((h) => [h.name, h.text]));
    },
    resolveId: (id) => (id === ID ? ID : null),
    load: (id) =>
      id === ID
        ? `${[...helpers.values()].join('\n')}\nexport { ${[...helpers.keys()].join(', ')} };\n`
        : null,
    transform(code, id) {
      if (id === ID || !/\/packages\/widgets\/src\/.*\.ts$/.test(id) || !code.includes('var __')) return null;
      const out = new MagicString(code);
      const names = [];
      for (const h of declared(this.parse(code), code)) {
        if (helpers.get(h.name) !== h.text) continue;
        out.remove(h.node.start, h.node.end);
        names.push(h.name);
      }
      if (!names.length) return null;
      out.prepend(`import { ${names.join(', ')} } from ${JSON.stringify(ID)};\n`);
      return { code: out.toString(), map: out.generateMap({ hires: true }) };
    },
  };
}

/** Where each lazily loaded chunk comes from, for the size table (matched on the chunk's modules). */
const LAZY_TRIGGERS = [
  [/node_modules\/dompurify\//, 'DOMPurify: the first narrative shown'],
  [/node_modules\/@lit-labs\/virtualizer\//, 'virtualizer: the first list of more than 40 rows'],
  [
    /node_modules\/hash-wasm\//,
    'WebAssembly hashers (hash-wasm): the first hash, in the background (pure JS / WebCrypto until then)',
  ],
  [
    /\/http-chain-data-source\.ts$/,
    'bridge + chain data source: an element configured by attributes, not a dataSource property',
  ],
  [
    /\/hospital-network-data-source\.ts$/,
    'every hospital of the network: an <ehr-provider> with rpc-url and contract-address but no bridge-url',
  ],
  [
    /\/core\/src\/verify\.ts$/,
    'record verification (core: JCS, keccak, leaf, Merkle proof): the first record with a proof to check',
  ],
  [
    /\/clinical-entry\.rebase\.ts$/,
    '<clinical-entry> amendments: the first amendment saved or "Load the current version" after a conflict',
  ],
];

/**
 * Writes dist/size/size-manifest.json: which chunks load up front (the entry and what it imports
 * statically) and which lazily (dynamic imports), with what loads them. scripts/size-check.mjs reads it.
 */
function sizeManifest() {
  return {
    name: 'size-manifest',
    generateBundle(_options, bundle) {
      const chunks = Object.values(bundle).filter((c) => c.type === 'chunk');
      const byName = new Map(chunks.map((c) => [c.fileName, c]));
      const eager = new Set();
      const visit = (name) => {
        if (eager.has(name) || !byName.has(name)) return;
        eager.add(name);
        for (const i of byName.get(name).imports) visit(i);
      };
      for (const c of chunks) if (c.isEntry) visit(c.fileName);
      const lazy = chunks
        .filter((c) => !eager.has(c.fileName))
        .map((c) => ({
          file: c.fileName,
          loadedBy: LAZY_TRIGGERS.filter(([re]) => Object.keys(c.modules).some((m) => re.test(m))).map(
            ([, what]) => what,
          ),
        }));
      this.emitFile({
        type: 'asset',
        fileName: 'size-manifest.json',
        source: JSON.stringify({ eager: [...eager], lazy }, null, 2),
      });
    },
  };
}

/**
 * A package's `browser` field for its own relative imports (ethers maps geturl.js, crypto.js, … to
 * their -browser files). @rollup/plugin-node-resolve skips it for packages entered through
 * `exports`, which left `import "http"`, "https", "zlib", "crypto" in the one-file bundle.
 */
function packageBrowserField() {
  const maps = new Map();
  const browserMap = (dir) => {
    if (!maps.has(dir)) {
      let map = null;
      try {
        const b = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).browser;
        if (b && typeof b === 'object') map = b;
      } catch {
        map = null;
      }
      maps.set(dir, map);
    }
    return maps.get(dir);
  };
  return {
    name: 'package-browser-field',
    async resolveId(source, importer, options) {
      if (!importer || !source.startsWith('.') || !importer.includes('/node_modules/')) return null;
      const resolved = await this.resolve(source, importer, { ...options, skipSelf: true });
      if (!resolved || resolved.external) return resolved;
      const m = resolved.id.match(/^(.*\/node_modules\/(?:@[^/]+\/)?[^/]+)\/(.*)$/);
      const to = m ? browserMap(m[1])?.[`./${m[2]}`] : undefined;
      return typeof to === 'string' ? join(m[1], to) : resolved;
    },
  };
}

const plugins = (minify) => [
  packageBrowserField(),
  nodeResolve({
    exportConditions: ['source', 'browser', 'import', 'default'],
    browser: true,
    extensions: ['.ts', '.mjs', '.js', '.json'],
  }),
  commonjs(),
  esbuild({ target: 'es2022', tsconfig: join(pkgDir, 'tsconfig.json'), sourceMap: true }),
  templateWhitespace(),
  sharedEsbuildHelpers(),
  ...(minify ? [terser({ ecma: 2022, module: true, format: { comments: false } })] : []),
];

/** Lit warns about dev mode unless it resolves its production build; `browser` + no `development` condition gives that. */
const onwarn = (warning, warn) => {
  if (warning.code === 'CIRCULAR_DEPENDENCY' && /node_modules/.test(warning.ids?.[0] ?? '')) return;
  if (warning.code === 'THIS_IS_UNDEFINED') return;
  warn(warning);
};

/** The three builds by name; `scripts/size-breakdown.mjs` builds one of them in memory. */
export const sizeConfigs = () => ({
  esm: {
    input,
    external: isDep,
    plugins: [...plugins(false), clean('esm')],
    onwarn,
    output: {
      dir: join(pkgDir, 'dist', 'esm'),
      format: 'es',
      sourcemap: true,
      entryFileNames: '[name].js',
      chunkFileNames: 'chunks/[name]-[hash].js',
    },
  },
  bundle: {
    input: join(pkgDir, 'src', 'index.ts'),
    plugins: [...plugins(true), clean('bundle')],
    onwarn,
    output: {
      file: join(pkgDir, 'dist', 'bundle', 'ehr-anchor-widgets.min.js'),
      format: 'es',
      sourcemap: true,
      inlineDynamicImports: true,
    },
  },
  'without-ethers': {
    input: join(pkgDir, 'src', 'index.ts'),
    external: (id) => id === 'ethers' || id.startsWith('ethers/'),
    // Lazy chunks may import from the entry itself instead of a separate shared chunk (one file up front).
    preserveEntrySignatures: 'allow-extension',
    plugins: [...plugins(true), clean('size'), sizeManifest()],
    onwarn,
    // Chunked (not one file): what loads lazily (DOMPurify, the virtualizer, the WebAssembly keccak)
    // lands in its own chunk, and the size check counts the entry and the lazy chunks separately.
    output: {
      dir: join(pkgDir, 'dist', 'size'),
      format: 'es',
      entryFileNames: 'elements-without-ethers.min.js',
      chunkFileNames: 'chunks/[name]-[hash].js',
    },
  },
});

export default Object.values(sizeConfigs());
