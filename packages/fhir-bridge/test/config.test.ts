/** Configuration: env over JSON file, zod-validated, and a clear error listing every bad field. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig, parseConfig } from '../src/config.js';

const base = {
  ipfsApiUrl: 'http://127.0.0.1:5001',
  rpcUrl: 'http://127.0.0.1:8545',
  anchorAddress: `0x${'12'.repeat(20)}`,
  signerKey: `0x${'34'.repeat(32)}`,
  keyStoreFile: '/tmp/keys.json',
  sources: [{ id: 'hapi', auth: { type: 'bearer', secret: 'a-long-enough-secret' } }],
};

describe('configuration', () => {
  it('applies defaults to a minimal valid config', () => {
    const c = parseConfig(base);
    assert.equal(c.outbox, 'sqlite:./ehr-bridge.db');
    assert.equal(c.batchMax, 2000);
    assert.equal(c.heapGrowingPercent, 100);
    assert.equal(c.sources[0]!.provenance, false);
  });

  it('lists every bad field in one error', () => {
    const error = (() => {
      try {
        parseConfig({
          ...base,
          rpcUrl: 'not a url',
          batchMax: 0,
          heapGrowingPercent: -5,
          outbox: 'mysql://x',
          signerKey: '0x12',
          sources: [{ id: 'a', auth: { type: 'bearer', secret: 'short' } }],
        });
      } catch (e) {
        return e;
      }
    })();
    assert.ok(error instanceof ConfigError);
    for (const field of [
      'rpcUrl',
      'batchMax',
      'heapGrowingPercent',
      'outbox',
      'signerKey',
      'sources.0.auth.secret',
    ]) {
      assert.ok(
        error.issues.some((i) => i.startsWith(`${field}:`)),
        `mentions ${field}: ${error.message}`,
      );
    }
  });

  it('refuses unauthenticated sources unless allowInsecure, and duplicate source ids', () => {
    assert.throws(
      () => parseConfig({ ...base, sources: [{ id: 'dev', auth: { type: 'none' } }] }),
      /allowInsecure/,
    );
    assert.doesNotThrow(() =>
      parseConfig({ ...base, allowInsecure: true, sources: [{ id: 'dev', auth: { type: 'none' } }] }),
    );
    assert.throws(
      () => parseConfig({ ...base, sources: [base.sources[0], base.sources[0]] }),
      /duplicate source id/,
    );
  });

  it('takes booleans only as booleans in JSON: allowInsecure "false" is refused, not true', async () => {
    const insecure = { ...base, sources: [{ id: 'dev', auth: { type: 'none' } }] };
    for (const value of ['false', 'true', 'no', 0, 1]) {
      assert.throws(
        () => parseConfig({ ...insecure, allowInsecure: value }),
        (e: unknown) => e instanceof ConfigError && e.issues.some((i) => i.startsWith('allowInsecure:')),
        JSON.stringify(value),
      );
    }
    const dir = await mkdtemp(join(tmpdir(), 'ehr-config-'));
    try {
      const file = join(dir, 'bridge.json');
      await writeFile(file, JSON.stringify({ ...insecure, allowInsecure: 'false', createKeys: 'false' }));
      assert.throws(
        () => loadConfig({}, file),
        /createKeys: .*expected boolean[^]*allowInsecure: .*expected boolean/,
      );
      // The environment's words for booleans still work (and "false" there means false).
      await writeFile(file, JSON.stringify(insecure));
      assert.throws(() => loadConfig({ EHR_BRIDGE_ALLOW_INSECURE: 'false' }, file), /allowInsecure/);
      assert.equal(
        loadConfig({ EHR_BRIDGE_ALLOW_INSECURE: 'true', EHR_BRIDGE_CREATE_KEYS: '0' }, file).allowInsecure,
        true,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('requires the sign-in origins outside loopback, and normalizes them', () => {
    assert.throws(
      () => parseConfig({ ...base, host: '0.0.0.0' }),
      (e: unknown) =>
        e instanceof ConfigError && e.issues.some((i) => i.startsWith('read.siweDomains: required')),
    );
    const c = parseConfig({
      ...base,
      host: '0.0.0.0',
      read: { siweDomains: ['portal.example.org', 'https://other.example:8443', 'http://localhost:5173'] },
    });
    assert.deepEqual(c.read.siweDomains, [
      'https://portal.example.org',
      'https://other.example:8443',
      'http://localhost:5173',
    ]);
    assert.throws(
      () => parseConfig({ ...base, read: { siweDomains: ['https://portal.example.org/login'] } }),
      /no path/,
    );
    assert.throws(() => parseConfig({ ...base, read: { corsOrigins: '*' } }), /corsOrigins/);
    const env = loadConfig(
      {
        EHR_BRIDGE_IPFS_API_URL: base.ipfsApiUrl,
        EHR_BRIDGE_RPC_URL: base.rpcUrl,
        EHR_BRIDGE_ANCHOR_ADDRESS: base.anchorAddress,
        EHR_BRIDGE_SIGNER_KEY: base.signerKey,
        EHR_BRIDGE_KEY_STORE: base.keyStoreFile,
        EHR_BRIDGE_SOURCES: JSON.stringify(base.sources),
        EHR_BRIDGE_HOST: '0.0.0.0',
        EHR_BRIDGE_SIWE_DOMAINS: 'https://a.example, https://b.example',
        EHR_BRIDGE_RATE_LIMIT: 'true',
      },
      '',
    );
    assert.deepEqual(env.read.siweDomains, ['https://a.example', 'https://b.example']);
    assert.equal(env.limits.rateLimit, true);
  });

  it('reads a JSON file and lets the environment override it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ehr-config-'));
    try {
      const file = join(dir, 'bridge.json');
      await writeFile(file, JSON.stringify({ ...base, batchMax: 10 }));
      const c = loadConfig({ EHR_BRIDGE_BATCH_MAX: '20', EHR_BRIDGE_WORKERS: 'false' }, file);
      assert.equal(c.batchMax, 20);
      assert.equal(c.workers, false);
      assert.throws(
        () => loadConfig({ EHR_BRIDGE_SOURCES: '[not json' }, file),
        /EHR_BRIDGE_SOURCES: not valid JSON/,
      );
      assert.throws(() => loadConfig({}, join(dir, 'missing.json')), ConfigError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('`ehr-bridge --help` documents the commands and every environment variable; a bad config exits 2 with the reasons', () => {
    const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
    const help = spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', cli, '--help'], {
      encoding: 'utf8',
    });
    assert.equal(help.status, 0);
    for (const word of ['start', 'sync', 'status', 'verify', 'EHR_BRIDGE_OUTBOX', 'EHR_BRIDGE_SOURCES'])
      assert.ok(help.stdout.includes(word), word);
    const bad = spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', cli, 'start'], {
      encoding: 'utf8',
      env: { ...process.env, EHR_BRIDGE_CONFIG: '', EHR_BRIDGE_RPC_URL: 'nope' },
    });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /invalid bridge configuration/);
    assert.match(bad.stderr, /rpcUrl/);
  });
});
