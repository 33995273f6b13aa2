// Build of @ehr-anchor/widgets (run by `npm run build -w packages/widgets`, after `tsc -b` wrote the .d.ts files):
//  1. dist/esm/       ESM per element for apps with a bundler: lit, ethers and every other dependency
//                     stay external (bare imports); shared code lands in chunks.
//  2. dist/bundle/    one minified file for a <script type="module"> tag: lit, DOMPurify, the virtualizer,
//                     the record-verification slice of core and the needed parts of ethers, all inside.
//  3. dist/size/      the same elements with ethers external: what the size budget "elements without ethers" measures.
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import commonjs from '@rollup/plugin-commonjs';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import terser from '@rollup/plugin-terser';
import esbuild from 'rollup-plugin-esbuild';

const root = dirname(fileURLToPath(import.meta.url));
const pkgDir = join(root, 'packages', 'widgets');
const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
/** Every element folder with a define file `src/components/<tag>/<tag>.ts`. */
const ELEMENTS = readdirSync(join(pkgDir, 'src', 'components')).filter((tag) => existsSync(join(pkgDir, 'src', 'components', tag, `${tag}.ts`)));
// Outputs carry content hashes; start clean so the size table never counts a stale chunk.
for (const dir of ['esm', 'bundle', 'size']) rmSync(join(pkgDir, 'dist', dir), { recursive: true, force: true });

const input = Object.fromEntries(ELEMENTS.map((e) => [e, join(pkgDir, 'src', 'components', e, `${e}.ts`)]));
const deps = Object.keys(pkg.dependencies ?? {});
const isDep = (id) => deps.some((d) => id === d || id.startsWith(`${d}/`));

const plugins = (minify) => [
  nodeResolve({ exportConditions: ['source', 'browser', 'import', 'default'], browser: true, extensions: ['.ts', '.mjs', '.js', '.json'] }),
  commonjs(),
  esbuild({ target: 'es2022', tsconfig: join(pkgDir, 'tsconfig.json'), sourceMap: true }),
  ...(minify ? [terser({ ecma: 2022, module: true, format: { comments: false } })] : []),
];

/** Lit warns about dev mode unless it resolves its production build; `browser` + no `development` condition gives that. */
const onwarn = (warning, warn) => {
  if (warning.code === 'CIRCULAR_DEPENDENCY' && /node_modules/.test(warning.ids?.[0] ?? '')) return;
  if (warning.code === 'THIS_IS_UNDEFINED') return;
  warn(warning);
};

export default [
  {
    input,
    external: isDep,
    plugins: plugins(false),
    onwarn,
    output: { dir: join(pkgDir, 'dist', 'esm'), format: 'es', sourcemap: true, entryFileNames: '[name].js', chunkFileNames: 'chunks/[name]-[hash].js' },
  },
  {
    input: join(pkgDir, 'src', 'index.ts'),
    plugins: plugins(true),
    onwarn,
    output: { file: join(pkgDir, 'dist', 'bundle', 'ehr-anchor-widgets.min.js'), format: 'es', sourcemap: true, inlineDynamicImports: true },
  },
  {
    input: join(pkgDir, 'src', 'index.ts'),
    external: (id) => id === 'ethers' || id.startsWith('ethers/'),
    plugins: plugins(true),
    onwarn,
    output: { file: join(pkgDir, 'dist', 'size', 'elements-without-ethers.min.js'), format: 'es', inlineDynamicImports: true },
  },
];
