import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadSyntheaBundles } from '@ehr-anchor/testkit';
import type { Bundle } from 'fhir/r4';
import {
  HOSPITAL_SAMPLES,
  bundlesFor,
  idAtHospitalB,
  patientIdOf,
  splitByEncounter,
} from '../src/hospital-fixtures.js';

const bundles = loadSyntheaBundles();

/** Every `urn:uuid:` reference of a Bundle points at an entry of the same Bundle. */
function unresolved(bundle: Bundle): string[] {
  const ids = new Set((bundle.entry ?? []).map((e) => e.fullUrl));
  return [...JSON.stringify(bundle).matchAll(/"reference":"(urn:uuid:[0-9a-f-]{36})"/g)]
    .map((m) => m[1]!)
    .filter((ref) => !ids.has(ref));
}

const types = (b: Bundle, type: string) => (b.entry ?? []).filter((e) => e.resource?.resourceType === type);

describe('dev fixtures: patients seen at both hospitals', () => {
  for (const sample of HOSPITAL_SAMPLES.shared) {
    it(`splits ${sample} by encounter into two Bundles that resolve on their own, B with its own ids`, () => {
      const original = bundles.get(sample)!;
      const { hospitalA, hospitalB } = splitByEncounter(original);
      assert.deepEqual(unresolved(hospitalA), []);
      assert.deepEqual(unresolved(hospitalB), []);
      const encounters = types(original, 'Encounter').length;
      assert.ok(encounters >= 2, 'enough encounters to split');
      assert.equal(types(hospitalA, 'Encounter').length + types(hospitalB, 'Encounter').length, encounters);
      assert.ok(types(hospitalB, 'Encounter').length >= 1);
      assert.equal(types(hospitalA, 'Patient').length, 1);
      assert.equal(types(hospitalB, 'Patient').length, 1);
      const patientA = patientIdOf(hospitalA);
      assert.equal(patientA, patientIdOf(original));
      assert.equal(patientIdOf(hospitalB), idAtHospitalB(patientA), 'B knows the person under its own id');
      const idsA = new Set((hospitalA.entry ?? []).map((e) => e.resource!.id));
      assert.ok(
        (hospitalB.entry ?? []).every((e) => !idsA.has(e.resource!.id)),
        'no resource id of A appears at B',
      );
      // Every clinical entry lands at exactly one hospital: the split adds no duplicate history.
      const clinical = (b: Bundle) => types(b, 'Observation').length;
      assert.equal(clinical(hospitalA) + clinical(hospitalB), clinical(original));
      assert.deepEqual(splitByEncounter(original), { hospitalA, hospitalB }, 'deterministic');
    });
  }

  it('gives each hospital its own patients plus its part of the shared ones; one hospital gets all', () => {
    const load = (s: string) => bundles.get(s)!;
    const two = bundlesFor(2, load);
    assert.deepEqual(
      two.hospitalA.map((b) => b.sample),
      [...HOSPITAL_SAMPLES.shared, ...HOSPITAL_SAMPLES.hospitalA],
    );
    assert.deepEqual(
      two.hospitalB.map((b) => b.sample),
      [...HOSPITAL_SAMPLES.shared, ...HOSPITAL_SAMPLES.hospitalB],
    );
    const one = bundlesFor(1, load);
    assert.equal(one.hospitalA.length, bundles.size);
    assert.equal(one.hospitalB.length, 0);
  });
});
