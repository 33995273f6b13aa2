/**
 * Property test: random sequences of hospital, doctor, consent and time operations, applied both to
 * the contract on anvil and to a small TypeScript model of the rules. After every step each
 * operation must succeed or fail with the same custom error in both, and `canRead` must agree for
 * every reader × subject × scope.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ALL_SCOPES, SCOPES } from '@ehr-anchor/contracts';
import * as fc from 'fast-check';
import { keccak256, toUtf8Bytes } from 'ethers';
import { attempt, extraKey, send, startChain, type Actor, type Chain } from './fixture.js';

const RUNS = Number(process.env.CONTRACTS_PROPERTY_RUNS ?? 20);

type Op =
  | { kind: 'addHospital'; h: number }
  | { kind: 'removeHospital'; h: number }
  | { kind: 'addDoctor'; h: number; d: number }
  | { kind: 'removeDoctor'; h: number; d: number }
  | { kind: 'grant'; p: number; g: number; scope: number; duration: number }
  | { kind: 'revoke'; p: number; g: number }
  | { kind: 'travel'; seconds: number };

const H = 3; // hospitals (each with its own bridge)
const D = 3; // doctors
const P = 2; // patients
const G = H + D + 1; // grantees: hospitals, doctors, a stranger

/** The rules, restated in TypeScript. Returns the custom error name an operation fails with, or undefined. */
class Model {
  hospitals = Array.from({ length: H }, () => ({ active: false, epoch: 0 }));
  doctors = Array.from({ length: D }, () => ({ hospital: -1, epoch: 0 }));
  grants = new Map<string, { scope: number; expiresAt: number }>();

  doctorHospital(d: number): number {
    const doc = this.doctors[d]!;
    if (doc.hospital < 0) return -1;
    const h = this.hospitals[doc.hospital]!;
    return h.active && h.epoch === doc.epoch ? doc.hospital : -1;
  }

  apply(op: Op, blockTime: number): string | undefined {
    switch (op.kind) {
      case 'addHospital': {
        const h = this.hospitals[op.h]!;
        if (h.active) return 'HospitalAlreadyRegistered';
        h.active = true;
        h.epoch += 1;
        return undefined;
      }
      case 'removeHospital': {
        const h = this.hospitals[op.h]!;
        if (!h.active) return 'UnknownHospital';
        h.active = false;
        return undefined;
      }
      case 'addDoctor': {
        if (!this.hospitals[op.h]!.active) return 'NotHospital';
        if (this.doctorHospital(op.d) >= 0) return 'DoctorAlreadyRegistered';
        this.doctors[op.d] = { hospital: op.h, epoch: this.hospitals[op.h]!.epoch };
        return undefined;
      }
      case 'removeDoctor': {
        if (!this.hospitals[op.h]!.active) return 'NotHospital';
        if (this.doctorHospital(op.d) !== op.h) return 'NotDoctorOfHospital';
        this.doctors[op.d] = { hospital: -1, epoch: 0 };
        return undefined;
      }
      case 'grant': {
        const validGrantee =
          op.g < H ? this.hospitals[op.g]!.active : op.g < H + D ? this.doctorHospital(op.g - H) >= 0 : false;
        if (!validGrantee) return 'InvalidGrantee';
        if (op.scope === 0) return 'EmptyScope';
        const expiresAt = blockTime + op.duration;
        // Mined in a block at least as late as the latest one: a past expiry is refused.
        if (op.duration <= 0) return 'ExpiryNotInFuture';
        this.grants.set(`${op.p}:${op.g}`, { scope: op.scope, expiresAt });
        return undefined;
      }
      case 'revoke':
        if (!this.grants.has(`${op.p}:${op.g}`)) return 'GrantNotFound';
        this.grants.delete(`${op.p}:${op.g}`);
        return undefined;
      case 'travel':
        return undefined;
    }
  }

  /** Reader indices: 0..H-1 hospitals, H..2H-1 bridges, 2H..2H+D-1 doctors, then patients, then a stranger. */
  canRead(reader: number, patient: number, scope: number, now: number): boolean {
    if (reader === 2 * H + D + patient) return true;
    const valid = (grantee: number) => {
      const g = this.grants.get(`${patient}:${grantee}`);
      return !!g && (g.scope & scope) === scope && now < g.expiresAt;
    };
    if (reader < H) return this.hospitals[reader]!.active && valid(reader);
    if (reader < 2 * H) return this.hospitals[reader - H]!.active && valid(reader - H);
    if (reader < 2 * H + D) {
      const h = this.doctorHospital(reader - 2 * H);
      return h >= 0 && (valid(H + reader - 2 * H) || valid(h));
    }
    return false;
  }
}

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('addHospital' as const), h: fc.nat(H - 1) }),
  fc.record({ kind: fc.constant('removeHospital' as const), h: fc.nat(H - 1) }),
  fc.record({ kind: fc.constant('addDoctor' as const), h: fc.nat(H - 1), d: fc.nat(D - 1) }),
  fc.record({ kind: fc.constant('removeDoctor' as const), h: fc.nat(H - 1), d: fc.nat(D - 1) }),
  {
    arbitrary: fc.record({
      kind: fc.constant('grant' as const),
      p: fc.nat(P - 1),
      g: fc.nat(G - 1),
      scope: fc.constantFrom(
        0,
        SCOPES.encounters,
        SCOPES.observations,
        SCOPES.encounters | SCOPES.observations,
        ALL_SCOPES,
      ),
      duration: fc.constantFrom(-100, 120, 3_600, 86_400),
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({ kind: fc.constant('revoke' as const), p: fc.nat(P - 1), g: fc.nat(G - 1) }),
    weight: 2,
  },
  fc.record({ kind: fc.constant('travel' as const), seconds: fc.constantFrom(60, 3_600, 86_400) }),
);

describe('property: random operation sequences agree with a TypeScript model of the rules', () => {
  let chain: Chain;
  let hospitals: Actor[];
  let bridges: Actor[];
  let doctors: Actor[];
  let patients: Actor[];
  let stranger: Actor;
  const subjects = Array.from({ length: P }, (_, p) => keccak256(toUtf8Bytes(`property subject ${p}`)));

  before(async () => {
    chain = await startChain();
    const a = chain.actors;
    hospitals = [a.hospital, a.otherHospital, chain.actor(extraKey('hospital C'))];
    bridges = [a.bridge, a.otherBridge, chain.actor(extraKey('bridge C'))];
    doctors = [a.doctor, a.otherDoctor, chain.actor(extraKey('doctor C'))];
    patients = [a.patient, a.otherPatient];
    stranger = a.stranger;
    // Patients register while hospital A exists, then the hospital is removed: every sequence starts
    // from no hospitals, no doctors, no grants and two registered patients.
    await send(
      a.admin.registry,
      'addHospital',
      hospitals[0]!.address,
      bridges[0]!.address,
      '0x01',
      'Hospital A',
    );
    for (let p = 0; p < P; p++) {
      await send(patients[p]!.registry, 'requestRegistration', hospitals[0]!.address, subjects[p]);
      await send(hospitals[0]!.registry, 'approveRegistration', patients[p]!.address);
    }
    await send(a.admin.registry, 'removeHospital', hospitals[0]!.address);
  });
  after(() => chain.stop());

  async function run(op: Op): Promise<string | undefined> {
    const admin = chain.actors.admin.registry;
    const grantee = (g: number) => (g < H ? hospitals[g]! : g < H + D ? doctors[g - H]! : stranger).address;
    let outcome;
    switch (op.kind) {
      case 'addHospital':
        outcome = await attempt(
          admin,
          'addHospital',
          hospitals[op.h]!.address,
          bridges[op.h]!.address,
          '0x02',
          `Hospital ${op.h}`,
        );
        break;
      case 'removeHospital':
        outcome = await attempt(admin, 'removeHospital', hospitals[op.h]!.address);
        break;
      case 'addDoctor':
        outcome = await attempt(hospitals[op.h]!.registry, 'addDoctor', doctors[op.d]!.address);
        break;
      case 'removeDoctor':
        outcome = await attempt(hospitals[op.h]!.registry, 'removeDoctor', doctors[op.d]!.address);
        break;
      case 'grant':
        outcome = await attempt(
          patients[op.p]!.registry,
          'grantAccess',
          grantee(op.g),
          op.scope,
          (await chain.now()) + op.duration,
        );
        break;
      case 'revoke':
        outcome = await attempt(patients[op.p]!.registry, 'revokeAccess', grantee(op.g));
        break;
      case 'travel':
        await chain.travel(op.seconds);
        return undefined;
    }
    return outcome.ok ? undefined : outcome.error;
  }

  /** Applies `ops` to the chain and to `model`, comparing every outcome and every canRead answer. */
  async function checkSequence(ops: Op[], model: Model): Promise<{ steps: number; checks: number }> {
    let steps = 0;
    let checks = 0;
    await chain.isolated(async () => {
      const readers = [...hospitals, ...bridges, ...doctors, ...patients, stranger];
      for (const [i, op] of ops.entries()) {
        const expected = model.apply(op, await chain.now());
        const actual = await run(op);
        assert.equal(actual, expected, `step ${i} ${JSON.stringify(op)}`);
        const now = await chain.now();
        const queries: Promise<void>[] = [];
        for (const [r, reader] of readers.entries()) {
          for (let p = 0; p < P; p++) {
            for (const scope of [SCOPES.encounters, SCOPES.encounters | SCOPES.observations, ALL_SCOPES]) {
              queries.push(
                (
                  chain.reader.getFunction('canRead')(reader.address, subjects[p], scope) as Promise<boolean>
                ).then((answer) => {
                  assert.equal(
                    answer,
                    model.canRead(r, p, scope, now),
                    `after step ${i} ${JSON.stringify(op)}: canRead(reader ${r}, patient ${p}, scope ${scope})`,
                  );
                }),
              );
            }
          }
        }
        await Promise.all(queries);
        steps += 1;
        checks += queries.length;
      }
    });
    return { steps, checks };
  }

  it(`agrees on every outcome and every canRead answer (${RUNS} random sequences)`, async () => {
    let steps = 0;
    let checks = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 4, maxLength: 20 }), async (ops) => {
        const done = await checkSequence(ops, new Model());
        steps += done.steps;
        checks += done.checks;
      }),
      // No shrinking: each replay costs real transactions; the failing step is named in the message anyway.
      { numRuns: RUNS, endOnFailure: true },
    );
    console.log(
      `property: ${RUNS} sequences, ${steps} operations, ${checks} canRead answers compared with the model`,
    );
    assert.ok(steps > 0);
  });

  it('fails against a model with a wrong rule (removed doctors keep their own grants)', async () => {
    class WrongModel extends Model {
      override canRead(reader: number, patient: number, scope: number, now: number): boolean {
        if (reader >= 2 * H && reader < 2 * H + D) {
          const g = this.grants.get(`${patient}:${H + reader - 2 * H}`);
          if (g && (g.scope & scope) === scope && now < g.expiresAt) return true;
        }
        return super.canRead(reader, patient, scope, now);
      }
    }
    const ops: Op[] = [
      { kind: 'addHospital', h: 0 },
      { kind: 'addDoctor', h: 0, d: 0 },
      { kind: 'grant', p: 0, g: H, scope: ALL_SCOPES, duration: 86_400 },
      { kind: 'removeDoctor', h: 0, d: 0 },
    ];
    assert.deepEqual(await checkSequence(ops, new Model()), { steps: 4, checks: 4 * 12 * P * 3 });
    await assert.rejects(
      checkSequence(ops, new WrongModel()),
      /after step 3 .*removeDoctor.*canRead\(reader 6, patient 0/,
    );
  });
});
