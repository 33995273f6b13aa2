/**
 * Each package.json declares exactly what its package imports: every import of a package's shipped
 * code (`src/`, `bin/`, tests excepted) is one of its `dependencies` (type-only imports may be met by
 * `@types/…`), every `dependencies` entry is imported by that code, every other file's imports
 * (tests, scripts, benches, configs) are declared in the package or are the root's shared dev tools,
 * and no published package depends on a private workspace (testkit, stack, demo, stories).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '@ehr-anchor/testkit';

interface Manifest {
  name: string;
  private?: boolean;
  workspaces?: string[];
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

const manifest = (dir: string) =>
  JSON.parse(readFileSync(join(repoRoot, dir, 'package.json'), 'utf8')) as Manifest;
const root = manifest('.');
const workspaces = root.workspaces!;
const tracked = execFileSync('git', ['ls-files', '-z'], { cwd: repoRoot, encoding: 'utf8' })
  .split('\0')
  .filter((f) => /\.(m?[jt]sx?|mts)$/.test(f));
const IMPORT =
  /(?:^|[^.\w])(?:import|export)\s+(type\s+)?(?:[^'"`;]*?\s+from\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|require\(\s*['"]([^'"]+)['"]\s*\)/gm;
const builtins = new Set(builtinModules);
const packageOf = (spec: string) =>
  spec
    .split('/')
    .slice(0, spec.startsWith('@') ? 2 : 1)
    .join('/');
const isShipped = (path: string) =>
  /^(src|bin)\//.test(path) && !/\.(test|integration)\.[mc]?[jt]sx?$/.test(path);

interface Use {
  name: string;
  file: string;
  shipped: boolean;
  typeOnly: boolean;
}

function uses(dir: string, own: string): Use[] {
  const mine = tracked.filter((f) =>
    dir === '.' ? !workspaces.some((w) => f.startsWith(`${w}/`)) : f.startsWith(`${dir}/`),
  );
  const out: Use[] = [];
  for (const file of mine) {
    const rel = dir === '.' ? file : file.slice(dir.length + 1);
    let text: string;
    try {
      text = readFileSync(join(repoRoot, file), 'utf8');
    } catch {
      continue;
    }
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[2] ?? m[3] ?? m[4];
      if (!spec || /^(\.|\/|node:|virtual:)/.test(spec) || builtins.has(spec)) continue;
      const name = packageOf(spec);
      if (name !== own) out.push({ name, file: rel, shipped: isShipped(rel), typeOnly: Boolean(m[1]) });
    }
  }
  return out;
}

/** What is wrong with `pkg`'s declarations, read against the imports of the files in `dir`. */
function problemsOf(dir: string, pkg: Manifest): string[] {
  const runtime = {
    ...pkg.dependencies,
    ...pkg.optionalDependencies,
    ...pkg.peerDependencies,
    ...(dir === '.' ? pkg.devDependencies : {}),
  };
  const declared = {
    ...runtime,
    ...pkg.devDependencies,
    ...root.devDependencies,
    ...root.optionalDependencies,
  };
  const all = uses(dir, pkg.name);
  const problems: string[] = [];
  for (const u of all) {
    if (u.shipped && !(u.name in runtime) && !(u.typeOnly && `@types/${u.name}` in runtime))
      problems.push(`${u.file} imports ${u.name}, which is not in dependencies`);
    if (!u.shipped && !(u.name in declared) && !(`@types/${u.name}` in declared))
      problems.push(`${u.file} imports ${u.name}, which is declared nowhere`);
  }
  for (const name of Object.keys(pkg.dependencies ?? {})) {
    const used = all.some(
      (u) => u.shipped && (u.name === name || (name.startsWith('@types/') && `@types/${u.name}` === name)),
    );
    if (!used) problems.push(`dependency ${name} is not imported by the shipped code`);
  }
  if (!pkg.private)
    for (const name of Object.keys(pkg.dependencies ?? {}))
      if (PRIVATE.includes(name)) problems.push(`published, yet depends on the private ${name}`);
  return [...new Set(problems)];
}

const PRIVATE = ['@ehr-anchor/testkit', '@ehr-anchor/stack', '@ehr-anchor/demo', '@ehr-anchor/stories'];

describe('package.json dependencies', () => {
  for (const dir of [...workspaces, '.']) {
    const pkg = manifest(dir);
    it(`${pkg.name}: declares what it imports and imports what it declares`, () => {
      assert.deepEqual(problemsOf(dir, pkg), []);
    });
  }

  it('finds an undeclared import, an unused dependency and a private one (the check can fail)', () => {
    const bridge = manifest('packages/fhir-bridge');
    const { fastify: _fastify, ...rest } = bridge.dependencies!;
    const problems = problemsOf('packages/fhir-bridge', {
      ...bridge,
      dependencies: { ...rest, 'left-pad': '^1.3.0', '@ehr-anchor/testkit': '0.1.0' },
    });
    assert.ok(problems.some((p) => /imports fastify, which is not in dependencies/.test(p)));
    assert.ok(problems.includes('dependency left-pad is not imported by the shipped code'));
    assert.ok(problems.includes('published, yet depends on the private @ehr-anchor/testkit'));
  });
});
