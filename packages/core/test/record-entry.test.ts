import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as full from '@ehr-anchor/core';
import * as record from '@ehr-anchor/core/record';

describe('@ehr-anchor/core/record', () => {
  it('re-exports the same functions as the main entry, without envelope or CID code', () => {
    for (const [name, value] of Object.entries(record))
      assert.equal(value, (full as Record<string, unknown>)[name], name);
    for (const name of ['verifyRecord', 'verifyRecords', 'leafHash', 'buildTree', 'contentHash'])
      assert.ok(name in record, name);
    for (const name of ['sealEnvelope', 'cidForBytes']) assert.equal(name in record, false, name);
  });
});

describe('browser bundles', () => {
  it('bundle @ehr-anchor/core/record for the browser with no externals and no HPKE or UnixFS code', async () => {
    const { build } = await import('esbuild');
    const result = await build({
      entryPoints: [new URL('../src/record.ts', import.meta.url).pathname],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      write: false,
      logLevel: 'silent',
      metafile: true,
    });
    const inputs = Object.keys(result.metafile.inputs);
    assert.equal(
      inputs.some((p) => /@hpke|ipfs-unixfs|sparse-array/.test(p)),
      false,
      inputs.filter((p) => /@hpke|ipfs-unixfs/.test(p)).join(),
    );
    assert.equal(
      inputs.some((p) => p.includes('node:')),
      false,
    );
  });

  it('bundle the full entry for the browser when "crypto" (an unused Node fallback in @hpke) is external', async () => {
    const { build } = await import('esbuild');
    const result = await build({
      entryPoints: [new URL('../src/index.ts', import.meta.url).pathname],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      external: ['crypto'],
      write: false,
      logLevel: 'silent',
    });
    assert.equal(result.errors.length, 0);
  });
});
