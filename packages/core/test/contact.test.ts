import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadBulkResources, loadSyntheaBundles } from '@ehr-anchor/testkit';
import fc from 'fast-check';
import { applyContactChange, contactFieldChanges } from '../src/api/contact.js';
import { contactChangeSchema } from '../src/api/index.js';

type Patient = { resourceType: string; telecom?: { system?: string; value?: string }[]; address?: object[] };

const patients = [
  ...[...loadSyntheaBundles().values()].map(
    (b) => b.entry!.find((e) => e.resource?.resourceType === 'Patient')!.resource as unknown as Patient,
  ),
  ...(loadBulkResources(['Patient']) as unknown as Patient[]),
];

describe('contact change', () => {
  it('changes only the named fields of every fixture Patient and keeps the rest, key order included (property)', () => {
    const text = fc.option(fc.string({ minLength: 1, maxLength: 40 }), { nil: null });
    const change = fc.record(
      {
        phone: text,
        email: text,
        address: fc.record(
          {
            line: fc.option(fc.array(fc.string({ minLength: 1 }), { minLength: 1, maxLength: 2 }), {
              nil: null,
            }),
            city: text,
            postalCode: text,
            country: text,
          },
          { requiredKeys: [] },
        ),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.constantFrom(...patients), change, (patient, c) => {
        const before = structuredClone(patient);
        const after = applyContactChange(patient, { baseVersionId: '1', ...c });
        assert.deepEqual(patient, before, 'the input is not modified');
        const { telecom: _t, address: _a, ...rest } = after;
        const { telecom: _t0, address: _a0, ...restBefore } = before;
        assert.equal(JSON.stringify(rest), JSON.stringify(restBefore));
        // Telecom entries other than the first phone and email are kept in place.
        const others = (p: Patient) => {
          const firsts = ['phone', 'email'].map((s) => p.telecom?.find((t) => t.system === s));
          return (p.telecom ?? []).filter((t) => !firsts.includes(t));
        };
        assert.deepEqual(others(after), others(before));
        // Address: everything but the named fields of the first one is kept (geolocation extension too).
        const first = (p: Patient) => ({ ...(p.address?.[0] ?? {}) }) as Record<string, unknown>;
        const a = first(after);
        const b = first(before);
        for (const k of ['line', 'city', 'postalCode', 'country'] as const) {
          delete a[k];
          delete b[k];
        }
        if (before.address?.length) assert.deepEqual(a, b);
        assert.deepEqual(after.address?.slice(1), before.address?.slice(1));
        // What the person is told changed is exactly what differs.
        for (const f of contactFieldChanges(before, after)) assert.notEqual(f.before, f.after);
      }),
      { numRuns: 300 },
    );
  });

  it('says what changed, and nothing when a change names the current values', () => {
    const p = structuredClone(patients.find((x) => x.telecom?.some((t) => t.system === 'phone'))!);
    const phone = p.telecom!.find((t) => t.system === 'phone')!.value!;
    assert.deepEqual(contactFieldChanges(p, applyContactChange(p, { baseVersionId: '1', phone })), []);
    assert.deepEqual(
      contactFieldChanges(p, applyContactChange(p, { baseVersionId: '1', phone: '+1 555 0100' })),
      [{ field: 'phone', before: phone, after: '+1 555 0100' }],
    );
    assert.deepEqual(
      contactFieldChanges(p, applyContactChange(p, { baseVersionId: '1', email: 'a@example.org' })),
      [{ field: 'email', before: '', after: 'a@example.org' }],
    );
  });

  it('refuses a change without a base version, with unknown fields, or with empty values', () => {
    assert.equal(contactChangeSchema.safeParse({ phone: '1' }).success, false);
    assert.equal(contactChangeSchema.safeParse({ baseVersionId: '1', telecom: [] }).success, false);
    assert.equal(contactChangeSchema.safeParse({ baseVersionId: '1', phone: '' }).success, false);
    assert.equal(
      contactChangeSchema.safeParse({ baseVersionId: '1', address: { state: 'MA' } }).success,
      false,
    );
    assert.equal(
      contactChangeSchema.safeParse({ baseVersionId: '1', phone: null, address: { city: 'X' } }).success,
      true,
    );
  });
});
