/**
 * The repository's fixtures are complete and used byte for byte as they came (fixtures/fhir/SHA256SUMS),
 * and the loaders return them in the order the tests rely on.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  SYNTHEA_FILES,
  bulkDir,
  fixturePatients,
  fixturesDir,
  loadBulkResources,
  loadSyntheaBundles,
  syntheaDir,
} from '@ehr-anchor/testkit';

describe('fixtures', () => {
  it('match their checksums, and every FHIR file has one', () => {
    const sums = readFileSync(join(fixturesDir, 'fhir', 'SHA256SUMS'), 'utf8')
      .trim()
      .split('\n');
    const listed = new Set<string>();
    for (const line of sums) {
      const [sum, file] = line.split(/\s+/) as [string, string];
      listed.add(file);
      const actual = createHash('sha256')
        .update(readFileSync(join(fixturesDir, 'fhir', file)))
        .digest('hex');
      assert.equal(actual, sum, `${file} changed`);
    }
    const present = [
      ...readdirSync(syntheaDir).map((f) => `synthea/${f}`),
      ...readdirSync(bulkDir).map((f) => `bulk-10/${f}`),
    ];
    assert.deepEqual(present.sort(), [...listed].sort());
  });

  it('load the five Synthea bundles smallest first and every bulk resource', () => {
    const bundles = loadSyntheaBundles();
    assert.deepEqual([...bundles.keys()], [...SYNTHEA_FILES]);
    const sizes = [...bundles.values()].map((b) => b.entry!.length);
    assert.deepEqual(sizes, [70, 126, 287, 388, 676]);
    assert.equal(loadBulkResources().length, 7160);
    assert.deepEqual(
      [...new Set(loadBulkResources(['Patient', 'Device']).map((r) => r.resourceType))].sort(),
      ['Device', 'Patient'],
    );
    assert.equal(fixturePatients().length, 18);
  });

  it('come with their source and license', () => {
    const notice = readFileSync(join(fixturesDir, 'fhir', 'NOTICE'), 'utf8');
    assert.match(notice, /Apache License, Version 2\.0/);
    assert.match(notice, /CC0/);
    const corpus = JSON.parse(readFileSync(join(fixturesDir, 'xss', 'payloads.json'), 'utf8')) as Record<
      string,
      { id: string; payload: string }[] | string
    >;
    for (const group of ['narrative', 'strings', 'urls', 'attachments']) {
      const payloads = corpus[group] as { id: string; payload: string }[];
      assert.ok(payloads.length >= 8, group);
      for (const p of payloads) {
        const decoded = p.payload.replace(/base64,([A-Za-z0-9+/=]+)/g, (_, b64: string) =>
          Buffer.from(b64, 'base64').toString(),
        );
        assert.ok(decoded.includes(p.id), `${p.id} names its own id`);
      }
    }
  });
});
