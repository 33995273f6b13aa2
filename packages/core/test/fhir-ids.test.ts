import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import type { FhirResource } from 'fhir/r4';
import {
  FHIR_ID_PATTERN,
  R4_RESOURCE_TYPES,
  isFhirId,
  isR4ResourceType,
  type R4ResourceType,
} from '../src/api/index.js';

/** Compile-time half of the cross-check: both differences of the two unions are empty. */
type Same<A, B> = [Exclude<A, B>] extends [never] ? ([Exclude<B, A>] extends [never] ? true : false) : false;
const sameUnion: Same<FhirResource['resourceType'], R4ResourceType> = true;

describe('R4 resource types and ids', () => {
  it('lists exactly the resource types of the FhirResource union in @types/fhir r4.d.ts', () => {
    assert.equal(sameUnion, true);
    const file = join(dirname(createRequire(import.meta.url).resolve('@types/fhir/package.json')), 'r4.d.ts');
    const text = readFileSync(file, 'utf8');
    const union = /export type FhirResource =([^;]+);/.exec(text);
    assert.ok(union, 'r4.d.ts declares the FhirResource union');
    const names = union[1]!
      .split('|')
      .map((s) => s.trim())
      .filter(Boolean);
    assert.match(text, /hl7\.fhir\.r4\.core version: 4\.0\.1/, 'generated from the R4 4.0.1 core package');
    // Each member is the interface whose resourceType literal is its own name.
    for (const name of names)
      assert.match(
        text,
        new RegExp(
          `export interface ${name}(?:<[^>]*>)? extends \\w+ \\{\\s*/\\*\\*[^\\n]*\\*/\\s*readonly resourceType: '${name}';`,
        ),
        name,
      );
    assert.deepEqual([...R4_RESOURCE_TYPES].sort(), names.sort());
    assert.equal(R4_RESOURCE_TYPES.length, 146);
  });

  it('takes only R4 type names, case-sensitively', () => {
    for (const t of ['Patient', 'Observation', 'Bundle', 'AuditEvent']) assert.ok(isR4ResourceType(t), t);
    for (const t of [
      'Object',
      'patient',
      'PATIENT',
      'Resource',
      'DomainResource',
      'SubscriptionStatus',
      '',
      'Patient ',
      'Patient\u0000',
      42,
      null,
    ])
      assert.equal(isR4ResourceType(t), false, String(t));
  });

  it('takes R4 ids of 1 to 64 characters of [A-Za-z0-9-.] except the path segments . and ..', () => {
    for (const id of ['1', 'a.b-c', 'A'.repeat(64), '...', '.a', 'a..', '-'])
      assert.ok(isFhirId(id) && FHIR_ID_PATTERN.test(id), id);
    for (const id of ['.', '..', '', 'A'.repeat(65), 'a/b', 'a b', '%2e', 'a_b', 'é', '1\n', 42, undefined])
      assert.equal(isFhirId(id), false, String(id));
  });
});
