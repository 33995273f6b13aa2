import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { loadBulkResources, loadSyntheaBundles } from '@ehr-anchor/testkit';
import canonicalizeJson from 'canonicalize';
import fc from 'fast-check';
import { canonicalize, contentHash, NotAFhirResourceError } from '../src/index.js';
import { refuseSha256WasmForTesting, sha256Wasm } from '../src/sha256-wasm.js';

/*
 * The single-pass writer (src/jcs-writer.ts) emits canonical bytes straight into the WebAssembly
 * SHA-256 (contentHash) or a byte area (canonicalize). Both must equal the `canonicalize` package's
 * text, UTF-8 encoded, and its SHA-256 (node:crypto here), byte for byte — also with WebAssembly
 * refused (scratch area + WebCrypto).
 */
const encoder = new TextEncoder();

function referenceBytes(resource: Record<string, unknown>): Uint8Array {
  const { meta: _meta, text: _text, ...content } = resource;
  return encoder.encode(canonicalizeJson(content)!);
}

const sha256Hex = (bytes: Uint8Array) => `0x${createHash('sha256').update(bytes).digest('hex')}`;

async function assertSameAsLibrary(resource: Record<string, unknown>): Promise<void> {
  let expected: Uint8Array;
  try {
    expected = referenceBytes(resource);
  } catch {
    assert.throws(() => canonicalize(resource), NotAFhirResourceError);
    await assert.rejects(contentHash(resource), NotAFhirResourceError);
    return;
  }
  assert.deepEqual(canonicalize(resource), expected);
  assert.equal(await contentHash(resource), sha256Hex(expected));
}

const key = fc.oneof(
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: 'binary' }),
  fc.constantFrom('meta', 'text', '10', '9', '1e2', '', 'a', 'B', 'é', '😀', '\u007f', 'a"b', 'a\\b'),
);
// Code units anywhere in 0..0xFFFF with surrogates, quotes, backslashes and controls made likely.
const unit = fc
  .oneof(
    fc.integer({ min: 0xd800, max: 0xdfff }),
    fc.constantFrom(0x22, 0x5c, 0x0a, 0x1f, 0x7f, 0x80, 0x7ff, 0x800, 0xffff),
    fc.integer({ min: 0, max: 0xffff }),
  )
  .map((c) => String.fromCharCode(c));
const rawString = fc.array(unit, { maxLength: 10 }).map((units) => units.join(''));
const number = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
  fc.constantFrom(
    -0,
    0,
    1e21,
    1e-7,
    1e-6,
    9007199254740991,
    Number('9007199254740993'),
    2 ** 64,
    5e-324,
    1.7976931348623157e308,
    Number('333333333.33333329'),
    0.1 + 0.2,
  ),
);
const json = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    number,
    fc.string({ unit: 'grapheme' }),
    rawString,
    fc.array(tie('value'), { maxLength: 5 }),
    fc.array(fc.array(tie('value'), { maxLength: 3 }), { maxLength: 3 }),
    fc.dictionary(key, tie('value'), { maxKeys: 6 }),
  ),
}));
const resourceArb = fc
  .dictionary(key, json.value, { maxKeys: 8 })
  .map((extra) => ({ ...extra, resourceType: 'Basic' }) as Record<string, unknown>);

for (const refused of [false, true]) {
  describe(`single-pass canonical writer equals the canonicalize package${refused ? ' (WebAssembly refused: scratch area, WebCrypto)' : ' (WebAssembly SHA-256)'}`, () => {
    // Injected fault for the second run: WebAssembly refused, as under a strict CSP.
    before(() => refuseSha256WasmForTesting(refused));
    after(() => refuseSha256WasmForTesting(false));

    it('uses the path it names', () => {
      assert.equal(sha256Wasm() === undefined, refused);
    });

    it('for arbitrary JSON values: unicode, lone surrogates (rejected), escapes, -0, 1e21, big and tiny numbers, nested arrays', async () => {
      await fc.assert(
        fc.asyncProperty(resourceArb, async (resource) => {
          await assertSameAsLibrary(resource);
          // The same after a JSON round trip (what a page actually holds), where it has one.
          let parsed: Record<string, unknown> | undefined;
          try {
            parsed = JSON.parse(JSON.stringify(resource)) as Record<string, unknown>;
          } catch {
            parsed = undefined;
          }
          if (parsed) await assertSameAsLibrary(parsed);
        }),
        { numRuns: refused ? 500 : 2000 },
      );
    });

    it('for every resource of the shared Synthea and bulk fixtures', async () => {
      const resources: unknown[] = loadBulkResources();
      for (const bundle of loadSyntheaBundles().values())
        for (const entry of bundle.entry ?? []) resources.push(entry.resource);
      const picked = refused ? resources.filter((_, i) => i % 10 === 0) : resources;
      for (const resource of picked) await assertSameAsLibrary(resource as Record<string, unknown>);
      assert.ok(picked.length > (refused ? 800 : 8000), `only ${picked.length} resources`);
    });

    it('across the area boundary: long strings (plain, non-ASCII, escaped, surrogate pairs) and many members, up to 1 MiB', async () => {
      const pieces = ['a', 'é', '€', '😀', '"', '\\', '\n', '\u0001', 'x'.repeat(63)];
      for (const size of [64_500, 64_511, 64_512, 64_513, 65_536, 130_000, 1_048_576]) {
        for (const piece of pieces) {
          const long = piece
            .repeat(Math.ceil(size / piece.length))
            .slice(0, size - (piece.length === 2 ? size % 2 : 0));
          await assertSameAsLibrary({
            resourceType: 'Binary',
            id: 'b',
            data: long,
            after: [1.5, 'ü', { z: true }],
          });
        }
      }
      // Many small members crossing the boundary at every offset of a value.
      for (let shift = 0; shift < 70; shift++) {
        const items = Array.from({ length: 3000 }, (_, i) => ({
          system: 'http://loinc.org',
          code: `${i}-${shift}`,
          display: i % 7 === 0 ? 'Größe 😀' : 'Body height',
          value: i / 3,
        }));
        await assertSameAsLibrary({ resourceType: 'Basic', pad: 'p'.repeat(shift), items });
      }
      // A lone surrogate at the very end of a long string is still refused.
      await assertSameAsLibrary({ resourceType: 'Binary', data: `${'x'.repeat(100_000)}\ud800` });
    });

    it('hands very deep nesting and unusual values to the library', async () => {
      let deep: unknown = 1;
      for (let i = 0; i < 20_000; i++) deep = [deep];
      await assertSameAsLibrary({ resourceType: 'Basic', deep });
      await assertSameAsLibrary({
        resourceType: 'Basic',
        when: new Date(0),
        n: Object.assign(Object.create(null) as object, { b: 1, a: 2 }),
        boxed: [new Number(1), new String('s')],
      });
      const cyclic: Record<string, unknown> = { resourceType: 'Basic' };
      cyclic.self = { again: cyclic };
      assert.throws(() => canonicalize(cyclic), NotAFhirResourceError);
      await assert.rejects(contentHash(cyclic), NotAFhirResourceError);
      for (const bad of [Number.NaN, Infinity, -Infinity])
        await assertSameAsLibrary({ resourceType: 'Basic', bad });
    });

    it('a getter that hashes again while the writer runs gets the same answers (no shared state corrupted)', async () => {
      const inner = { resourceType: 'Basic', id: 'inner', note: 'ü'.repeat(50) };
      const innerHash = sha256Hex(referenceBytes(inner));
      let seen: unknown;
      const outer = {
        resourceType: 'Basic',
        a: 'x'.repeat(70_000),
        get b() {
          seen = contentHash(inner);
          return canonicalize(inner).length;
        },
        c: 'é'.repeat(30_000),
      };
      await assertSameAsLibrary(outer);
      assert.equal(await seen, innerHash);
    });
  });
}
