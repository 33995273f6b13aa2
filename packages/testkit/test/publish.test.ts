/**
 * The packages a stranger installs: `npm pack` of each publishable package (its prepack builds it),
 * the tarballs installed into an empty folder outside the workspace (no workspace links, only the
 * registry for their dependencies), and each one imported and run there. No tarball carries tests or
 * test fixtures, and nothing pulls in the private test harness.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { repoRoot } from '@ehr-anchor/testkit';

/** A module name inside a script run in the stranger's folder (not an import of this file). */
const q = (specifier: string) => JSON.stringify(specifier);

const PUBLISHED = ['packages/core', 'packages/contracts', 'packages/fhir-bridge', 'packages/widgets'];

interface PackResult {
  name: string;
  filename: string;
  files: { path: string }[];
}

describe('published packages, installed from their tarballs by a stranger', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ehr-publish-'));
  const app = join(dir, 'app');
  const packed: PackResult[] = [];
  const run = (script: string) =>
    execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: app, encoding: 'utf8' });

  before(
    () => {
      assert.ok(relative(repoRoot, dir).startsWith('..'), 'the folder is outside the workspace');
      for (const ws of PUBLISHED) {
        const out = execFileSync(
          'npm',
          ['pack', '-w', ws, '--pack-destination', dir, '--json', '--no-fund', '--no-audit'],
          { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20 },
        );
        // Build output (prepack) may precede the JSON on stdout.
        packed.push(...(JSON.parse(out.slice(out.indexOf('\n[') + 1)) as PackResult[]));
      }
      mkdirSync(app);
      writeFileSync(
        join(app, 'package.json'),
        JSON.stringify({ name: 'a-hospital-portal', version: '1.0.0', private: true, type: 'module' }),
      );
      execFileSync(
        'npm',
        [
          'install',
          '--no-audit',
          '--no-fund',
          '--no-package-lock',
          ...packed.map((p) => join(dir, p.filename)),
        ],
        { cwd: app, stdio: ['ignore', 'inherit', 'inherit'] },
      );
    },
    { timeout: 900_000 },
  );
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('ships no tests and no test fixtures', () => {
    assert.deepEqual(
      packed.map((p) => p.name),
      ['@ehr-anchor/core', '@ehr-anchor/contracts', '@ehr-anchor/fhir-bridge', '@ehr-anchor/widgets'],
    );
    for (const p of packed) {
      const bad = p.files
        .map((f) => f.path)
        .filter((f) => /(^|\/)test\/|\.test\.|\.integration\.|(^|\/)fixtures\/|\.tsbuildinfo$/.test(f));
      assert.deepEqual(bad, [], p.name);
      assert.ok(p.files.some((f) => f.path === 'package.json'));
    }
  });

  it('installs without the private workspaces', () => {
    for (const name of ['testkit', 'stack', 'demo'])
      assert.ok(!existsSync(join(app, 'node_modules', '@ehr-anchor', name)), name);
  });

  it('core canonicalizes and hashes a resource', () => {
    const resource = {
      resourceType: 'Patient',
      id: 'p1',
      meta: { versionId: '3' },
      text: { div: '<div/>' },
      active: true,
      birthDate: '1970-01-01',
    };
    const out = JSON.parse(
      run(`
        const { canonicalJson, contentHash } = await import(${q('@ehr-anchor/core')});
        const r = ${JSON.stringify(resource)};
        console.log(JSON.stringify({ json: canonicalJson(r), hash: await contentHash(r) }));
      `),
    ) as { json: string; hash: string };
    const expected = '{"active":true,"birthDate":"1970-01-01","id":"p1","resourceType":"Patient"}';
    assert.equal(out.json, expected);
    assert.equal(out.hash, `0x${createHash('sha256').update(expected).digest('hex')}`);
  });

  it('contracts export the ABI, the JSON ABI and the deploy function', () => {
    const out = JSON.parse(
      run(`
        const { ehrRegistryAbi, SCOPES } = await import(${q('@ehr-anchor/contracts')});
        const { deployContracts } = await import(${q('@ehr-anchor/contracts/deploy')});
        const { default: json } = await import(${q('@ehr-anchor/contracts/abi/EhrRegistry.json')}, { with: { type: 'json' } });
        const fns = (abi) => abi.filter((e) => e.type === 'function').map((e) => e.name);
        console.log(JSON.stringify({ ts: fns(ehrRegistryAbi), json: fns(json), deploy: typeof deployContracts, scopes: Object.keys(SCOPES).length }));
      `),
    ) as { ts: string[]; json: string[]; deploy: string; scopes: number };
    for (const fn of ['anchor', 'canRead', 'grantAccess', 'revokeAccess', 'addHospital'])
      assert.ok(out.ts.includes(fn), fn);
    assert.deepEqual(out.json, out.ts);
    assert.equal(out.deploy, 'function');
    assert.ok(out.scopes > 5);
  });

  it("the bridge's CLI prints its help", () => {
    const help = execFileSync(join(app, 'node_modules', '.bin', 'ehr-bridge'), ['--help'], {
      cwd: app,
      encoding: 'utf8',
    });
    for (const command of ['start', 'sync', 'status', 'verify', 'keys'])
      assert.match(help, new RegExp(command));
  });

  it('the widgets define their six elements (Node, under a small DOM shim) and export the testing kit', () => {
    const out = JSON.parse(
      run(`
        // Lit's server build brings HTMLElement and customElements (and lit-html needs no document
        // when it loads); <ehr-provider> attaches a context root to the document on import, which is
        // all of a document it needs.
        await import(${q('@ehr-anchor/widgets/ehr-viewer.js')});
        globalThis.document ??= { documentElement: new EventTarget() };
        await import(${q('@ehr-anchor/widgets')});
        const { FixtureDataSource } = await import(${q('@ehr-anchor/widgets/testing')});
        const tags = ['ehr-provider', 'ehr-viewer', 'consent-manager', 'record-uploader', 'ehr-admin', 'clinical-entry'];
        console.log(JSON.stringify({ defined: tags.filter((t) => customElements.get(t)), fixture: typeof FixtureDataSource.create }));
      `),
    ) as { defined: string[]; fixture: string };
    assert.equal(out.defined.length, 6, out.defined.join());
    assert.equal(out.fixture, 'function');
    assert.ok(
      existsSync(
        join(app, 'node_modules', '@ehr-anchor', 'widgets', 'dist', 'bundle', 'ehr-anchor-widgets.min.js'),
      ),
    );
  });
});
