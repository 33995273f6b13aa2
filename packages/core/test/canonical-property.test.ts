import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadBulkResources, loadSyntheaBundles } from '@ehr-anchor/testkit';
import canonicalizeJson from 'canonicalize';
import fc from 'fast-check';
import { assertFhirResource, canonicalJson, NotAFhirResourceError } from '../src/index.js';

/** What canonicalJson must equal: the `canonicalize` package (RFC 8785) over the resource without meta/text. */
function reference(resource: Record<string, unknown>): string | undefined {
  const { meta: _meta, text: _text, ...content } = resource;
  return canonicalizeJson(content);
}

describe('canonical form equals the canonicalize package (RFC 8785) exactly', () => {
  it('for every resource of the shared Synthea and bulk fixtures', () => {
    let count = 0;
    const resources: unknown[] = loadBulkResources();
    for (const bundle of loadSyntheaBundles().values())
      for (const entry of bundle.entry ?? []) resources.push(entry.resource);
    for (const resource of resources) {
      assert.equal(canonicalJson(resource), reference(resource as Record<string, unknown>));
      count++;
    }
    assert.ok(count > 8000, `only ${count} resources`);
  });

  it('for arbitrary JSON objects (unicode keys and strings, doubles, nesting, digit keys)', () => {
    const key = fc.oneof(
      fc.string({ unit: 'grapheme' }),
      fc.string({ unit: 'binary' }),
      fc.constantFrom('meta', 'text', '10', '9', '__proto__', 'a', 'B', 'é', '😀'),
    );
    const json = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.constant(null),
        fc.boolean(),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.integer(),
        fc.string({ unit: 'binary' }),
        fc.array(tie('value'), { maxLength: 5 }),
        fc.dictionary(key, tie('value'), { maxKeys: 6 }),
      ),
    }));
    fc.assert(
      fc.property(fc.dictionary(key, json.value, { maxKeys: 8 }), (extra) => {
        const resource = JSON.parse(JSON.stringify({ ...extra, resourceType: 'Basic' })) as Record<
          string,
          unknown
        >;
        assert.equal(canonicalJson(resource), reference(resource));
      }),
      { numRuns: 2000 },
    );
  });

  it('for strings and keys with lone surrogates (rejected like the library) and escaped backslash-u text (kept)', () => {
    // Code units anywhere in 0..0xFFFF, surrogates and backslashes made likely.
    const unit = fc
      .oneof(
        fc.integer({ min: 0xd800, max: 0xdfff }),
        fc.constantFrom(0x5c, 0x75, 0x64, 0x38),
        fc.integer({ min: 0, max: 0xffff }),
      )
      .map((c) => String.fromCharCode(c));
    const text = fc.array(unit, { maxLength: 8 }).map((units) => units.join(''));
    fc.assert(
      fc.property(text, text, (key, value) => {
        const resource = { [key]: value, note: [value, { [key]: 1 }], resourceType: 'Basic' };
        let expected: string | undefined;
        try {
          expected = reference(resource);
        } catch {
          assert.throws(() => canonicalJson(resource), NotAFhirResourceError);
          return;
        }
        assert.equal(canonicalJson(resource), expected);
      }),
      { numRuns: 3000 },
    );
    assert.throws(() => canonicalJson({ resourceType: 'Basic', a: 'x\udc00' }), NotAFhirResourceError);
    assert.throws(() => canonicalJson({ resourceType: 'Basic', ['\ud83d']: 1 }), NotAFhirResourceError);
    const escapedText = { resourceType: 'Basic', a: '\\ud800 is six characters', b: '😀' };
    assert.equal(canonicalJson(escapedText), reference(escapedText));
  });

  it('for undefined members and array items (dropped / null, as JSON.stringify does)', () => {
    const resource = {
      resourceType: 'Basic',
      a: undefined,
      b: [undefined, 1, () => 0],
      c: { d: undefined, e: 2 },
    };
    assert.equal(canonicalJson(resource), reference(resource));
    assert.equal(canonicalJson(resource), '{"b":[null,1,null],"c":{"e":2},"resourceType":"Basic"}');
  });

  it('for values JSON.parse never makes (undefined, toJSON, Date) via the library path', () => {
    const resource = {
      resourceType: 'Basic',
      a: undefined,
      b: [undefined, 1],
      c: new Date(0),
      d: { toJSON: () => 'x' },
    };
    assert.equal(canonicalJson(resource), reference(resource));
  });

  it('accepts exactly the resourceType names /^[A-Z][A-Za-z]+$/ accepts', () => {
    const name = fc.oneof(
      fc.string(),
      fc.stringMatching(/^[A-Z][A-Za-z]*$/),
      fc.constantFrom('', 'A', 'Patient', 'patient', 'Pa1', 'P@', 'P[', 'P`', 'P{', 'Pé', 'ÄObservation'),
    );
    fc.assert(
      fc.property(name, (resourceType) => {
        const accepted = (() => {
          try {
            assertFhirResource({ resourceType });
            return true;
          } catch (error) {
            assert.ok(error instanceof NotAFhirResourceError);
            return false;
          }
        })();
        assert.equal(accepted, /^[A-Z][A-Za-z]+$/.test(resourceType), resourceType);
      }),
      { numRuns: 3000 },
    );
  });
});
