// Every element has its own subpath export (`@ehr-anchor/widgets/<tag>.js`) with the three
// conditions the monorepo uses (source for tsx/Vite, types and default for built consumers), is
// listed in `sideEffects` (its define file registers the tag, so bundlers must keep it), and is an
// entry of the per-element ESM build the size check measures. Elements are found the way the
// build finds them (rollup.config.mjs: every `src/components/<tag>/<tag>.ts`), so a new element
// without an export fails here. Run by `npm test -w packages/widgets` (node --test).
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
const components = join(pkgDir, 'src', 'components');
const elements = readdirSync(components).filter((tag) => existsSync(join(components, tag, `${tag}.ts`)));

describe('package.json of @ehr-anchor/widgets', () => {
  it('finds the elements the build finds (clinical-entry among them)', () => {
    assert.ok(elements.includes('clinical-entry'), elements.join(', '));
    assert.ok(elements.length >= 6, elements.join(', '));
  });

  for (const tag of elements) {
    it(`exports ./${tag}.js with source, types and default, like every element`, () => {
      assert.deepEqual(pkg.exports[`./${tag}.js`], {
        source: `./src/components/${tag}/${tag}.ts`,
        types: `./dist/src/components/${tag}/${tag}.d.ts`,
        default: `./dist/src/components/${tag}/${tag}.js`,
      });
      // Built outputs exist once `tsc -b` ran (npm test runs it first); a fresh checkout has none yet.
      if (existsSync(join(pkgDir, 'dist', 'src'))) {
        for (const target of ['types', 'default'])
          assert.ok(
            existsSync(join(pkgDir, pkg.exports[`./${tag}.js`][target])),
            `${target} of ./${tag}.js is built`,
          );
      }
    });

    it(`lists ${tag}'s define file (source and built) in sideEffects`, () => {
      assert.ok(pkg.sideEffects.includes(`./src/components/${tag}/${tag}.ts`));
      assert.ok(pkg.sideEffects.includes(`./dist/src/components/${tag}/${tag}.js`));
    });
  }

  it('lists every module that registers a tag in sideEffects (else a bundler drops its import)', () => {
    const sources = (dir) =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory()
          ? sources(join(dir, e.name))
          : e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')
            ? [join(dir, e.name)]
            : [],
      );
    const defining = sources(join(pkgDir, 'src')).filter((f) =>
      /customElements\.define\(/.test(readFileSync(f, 'utf8')),
    );
    assert.ok(
      defining.some((f) => f.endsWith('version-history.ts')),
      'the nested <ehr-version-history> is found',
    );
    for (const f of defining) {
      const rel = `./${f.slice(pkgDir.length + 1)}`;
      assert.ok(pkg.sideEffects.includes(rel), `${rel} in sideEffects`);
      assert.ok(
        pkg.sideEffects.includes(rel.replace('./src/', './dist/src/').replace(/\.ts$/, '.js')),
        `built ${rel} in sideEffects`,
      );
    }
  });

  it('points every source export at a file that exists', () => {
    for (const [subpath, target] of Object.entries(pkg.exports)) {
      if (typeof target === 'object')
        assert.ok(existsSync(join(pkgDir, target.source)), `${subpath} → ${target.source}`);
    }
  });

  it('builds one ESM entry per element, and the size check measures each', async () => {
    const { sizeConfigs } = await import('../../../rollup.config.mjs');
    assert.deepEqual(Object.keys(sizeConfigs().esm.input).sort(), [...elements].sort());
    // The test script runs this after `npm run size:strict` (rollup), so dist/ holds the outputs.
    const { sizeRows } = await import('../scripts/size-check.mjs');
    const measured = sizeRows().map((r) => r.output);
    for (const tag of elements)
      assert.ok(measured.includes(`esm/${tag}.js`), `esm/${tag}.js in the size table`);
  });
});
