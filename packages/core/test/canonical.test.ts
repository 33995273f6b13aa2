import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  canonicalJson,
  canonicalize,
  contentHash,
  keccakReady,
  NotAFhirResourceError,
  sha256,
  toHex,
} from '../src/index.js';

describe('canonical form', () => {
  it('drops meta and text, sorts keys, keeps everything else', () => {
    const json = canonicalJson({
      resourceType: 'Patient',
      meta: { versionId: '3', lastUpdated: '2024-01-01T00:00:00Z' },
      text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">x</div>' },
      id: 'p1',
      active: true,
    });
    assert.equal(json, '{"active":true,"id":"p1","resourceType":"Patient"}');
  });

  it('gives the same bytes whatever the key order', () => {
    const a = {
      resourceType: 'Observation',
      id: 'o',
      valueQuantity: { value: 1.5, unit: 'mg' },
      status: 'final',
    };
    const b = {
      status: 'final',
      valueQuantity: { unit: 'mg', value: 1.5 },
      id: 'o',
      resourceType: 'Observation',
    };
    assert.deepEqual(canonicalize(a), canonicalize(b));
  });

  it('serializes numbers per RFC 8785 (1.50 → 1.5, 1e2 → 100)', () => {
    const parsed = JSON.parse(
      '{"resourceType":"Observation","a":1.50,"b":1e2,"c":-0,"d":0.000001,"e":1e21}',
    ) as unknown;
    assert.equal(
      canonicalJson(parsed),
      '{"a":1.5,"b":100,"c":0,"d":0.000001,"e":1e+21,"resourceType":"Observation"}',
    );
  });

  it('hashes meta-only changes to the same contentHash and content changes to another', async () => {
    const base = { resourceType: 'Condition', id: 'c', code: { text: 'flu' } };
    const h = await contentHash(base);
    assert.match(h, /^0x[0-9a-f]{64}$/);
    assert.equal(await contentHash({ ...base, meta: { versionId: '9' } }), h);
    assert.notEqual(await contentHash({ ...base, code: { text: 'Flu' } }), h);
  });

  it('rejects what is not a FHIR resource with NotAFhirResourceError', () => {
    for (const bad of [
      null,
      42,
      'Patient',
      [],
      {},
      { resourceType: 5 },
      { resourceType: '' },
      { resourceType: 'lower' },
    ]) {
      assert.throws(() => canonicalize(bad), NotAFhirResourceError, JSON.stringify(bad));
    }
  });

  it('rejects lone surrogates (not representable in UTF-8) with NotAFhirResourceError', () => {
    assert.throws(() => canonicalize({ resourceType: 'Patient', id: '\ud800' }), NotAFhirResourceError);
  });
});

describe('RFC 8785 sample (section 3.2.2) with a resourceType added', () => {
  it('produces the RFC’s canonical text', () => {
    const input = String.raw`{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001], "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/", "literals": [null, true, false], "resourceType": "Basic"}`;
    const expected = String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"resourceType":"Basic","string":"€$\u000f\nA'B\"\\\\\"/"}`;
    assert.equal(canonicalJson(JSON.parse(input)), expected);
  });
});

describe('contentHash on both SHA-256 paths', () => {
  it('equals WebCrypto SHA-256 of the canonical bytes, small and over 64 KiB (streamed through the WebAssembly input area)', async () => {
    assert.equal(await keccakReady(), true);
    const small = { resourceType: 'Observation', id: 'o1', valueString: 'é😀' };
    const big = { resourceType: 'DocumentReference', id: 'd1', note: 'x'.repeat(100 * 1024) };
    for (const resource of [small, big]) {
      assert.equal(await contentHash(resource), toHex(await sha256(canonicalize(resource))));
    }
  });
});
