/**
 * Property test: random sequences of hospital, doctor, staff, consent and time operations, applied both
 * to the contract on anvil and to a small TypeScript model of the rules. After every step each
 * operation must succeed or fail with the same custom error in both, and `canRead`, `grantOf`'s
 * status, `hospitalOfDoctor`, `hospitalOfStaff` and `hospitals()` must agree with the model.
 *
 * Doctors and staff are drawn from one pool of accounts that includes the hospitals' own accounts, so
 * sequences move an account between roles (a removed hospital becomes a doctor, a doctor becomes
 * staff …): the rule "removal ends grants; re-adding revives none" is checked across roles too.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ALL_SCOPES, SCOPES, grantStatusOf, type GrantStatus } from '@ehr-anchor/contracts';
import * as fc from 'fast-check';
import { getAddress, keccak256, toUtf8Bytes } from 'ethers';
import { attempt, extraKey, send, startChain, type Actor, type Chain } from './fixture.js';

const RUNS = Number(process.env.CONTRACTS_PROPERTY_RUNS ?? 20);

type Op =
  | { kind: 'addHospital'; h: number }
  | { kind: 'removeHospital'; h: number }
  | { kind: 'addDoctor'; h: number; a: number }
  | { kind: 'removeDoctor'; h: number; a: number }
  | { kind: 'addStaff'; h: number; a: number }
  | { kind: 'removeStaff'; h: number; a: number }
  | { kind: 'grant'; p: number; g: number; scope: number; duration: number }
  | { kind: 'revoke'; p: number; g: number }
  | { kind: 'travel'; seconds: number };

const H = 3; // hospitals (each with its own bridge); accounts 0..H-1
const M = 4; // further accounts that become doctors or staff; accounts H..H+M-1
const A = H + M; // accounts that may hold a role: the hospitals' and the members'
const P = 2; // patients
const G = A + 1; // grantees: every account, and a stranger

interface Member {
  hospital: number;
  hospitalEpoch: number;
  registration: number;
  registered: boolean;
}
interface Grant {
  scope: number;
  expiresAt: number;
  epoch: number;
  toHospital: boolean;
}
const noMember = (): Member => ({ hospital: -1, hospitalEpoch: 0, registration: 0, registered: false });

/** The rules, restated in TypeScript. Returns the custom error name an operation fails with, or undefined. */
class Model {
  hospitals = Array.from({ length: H }, () => ({ active: false, epoch: 0 }));
  doctors = Array.from({ length: A }, noMember);
  staff = Array.from({ length: A }, noMember);
  grants = new Map<string, Grant>();

  activeHospital(m: Member): number {
    if (!m.registered) return -1;
    const h = this.hospitals[m.hospital]!;
    return h.active && h.epoch === m.hospitalEpoch ? m.hospital : -1;
  }

  isActiveHospital(a: number): boolean {
    return a < H && this.hospitals[a]!.active;
  }

  inUse(a: number): boolean {
    return (
      this.isActiveHospital(a) ||
      this.activeHospital(this.doctors[a]!) >= 0 ||
      this.activeHospital(this.staff[a]!) >= 0
    );
  }

  apply(op: Op, blockTime: number): string | undefined {
    switch (op.kind) {
      case 'addHospital': {
        const h = this.hospitals[op.h]!;
        if (h.active) return 'HospitalAlreadyRegistered';
        if (this.inUse(op.h)) return 'AccountInUse';
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
      case 'addDoctor':
      case 'addStaff': {
        if (!this.hospitals[op.h]!.active) return 'NotHospital';
        const table = op.kind === 'addDoctor' ? this.doctors : this.staff;
        const m = table[op.a]!;
        if (this.activeHospital(m) >= 0)
          return op.kind === 'addDoctor' ? 'DoctorAlreadyRegistered' : 'StaffAlreadyRegistered';
        if (this.inUse(op.a)) return 'AccountInUse';
        m.hospital = op.h;
        m.hospitalEpoch = this.hospitals[op.h]!.epoch;
        if (op.kind === 'addDoctor') m.registration += 1;
        m.registered = true;
        return undefined;
      }
      case 'removeDoctor':
      case 'removeStaff': {
        if (!this.hospitals[op.h]!.active) return 'NotHospital';
        const m = (op.kind === 'removeDoctor' ? this.doctors : this.staff)[op.a]!;
        if (this.activeHospital(m) !== op.h)
          return op.kind === 'removeDoctor' ? 'NotDoctorOfHospital' : 'NotStaffOfHospital';
        m.registered = false;
        return undefined;
      }
      case 'grant': {
        let grant: Grant;
        const base = { scope: op.scope, expiresAt: blockTime + op.duration };
        if (op.g < A && this.isActiveHospital(op.g)) {
          grant = { ...base, epoch: this.hospitals[op.g]!.epoch, toHospital: true };
        } else if (op.g < A && this.activeHospital(this.doctors[op.g]!) >= 0) {
          grant = { ...base, epoch: this.doctors[op.g]!.registration, toHospital: false };
        } else {
          return 'InvalidGrantee';
        }
        if (op.scope === 0) return 'EmptyScope';
        // Mined in a block at least as late as the latest one: a past expiry is refused.
        if (op.duration <= 0) return 'ExpiryNotInFuture';
        this.grants.set(`${op.p}:${op.g}`, grant);
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

  /** Is the registration grant `g` was given to still the grantee's (account `a`) current one? */
  current(a: number, g: Grant): boolean {
    if (g.toHospital) return this.isActiveHospital(a) && this.hospitals[a]!.epoch === g.epoch;
    const d = this.doctors[a]!;
    return this.activeHospital(d) >= 0 && d.registration === g.epoch;
  }

  grantStatus(patient: number, a: number, now: number): GrantStatus {
    const g = this.grants.get(`${patient}:${a}`);
    if (!g) return 'none';
    if (!this.current(a, g)) return 'ended';
    return now >= g.expiresAt ? 'expired' : 'active';
  }

  covers(patient: number, a: number, scope: number, now: number): boolean {
    const g = this.grants.get(`${patient}:${a}`);
    return !!g && (g.scope & scope) === scope && this.grantStatus(patient, a, now) === 'active';
  }

  /** Reader indices: 0..A-1 accounts, A..A+H-1 bridges, then patients, then a stranger. */
  canRead(reader: number, patient: number, scope: number, now: number): boolean {
    if (reader === A + H + patient) return true;
    if (reader < A) {
      if (this.isActiveHospital(reader)) return this.covers(patient, reader, scope, now);
      const h = this.activeHospital(this.doctors[reader]!);
      return h >= 0 && (this.covers(patient, reader, scope, now) || this.covers(patient, h, scope, now));
    }
    if (reader < A + H) {
      const h = reader - A;
      return this.hospitals[h]!.active && this.covers(patient, h, scope, now);
    }
    return false;
  }
}

/**
 * Indices biased towards a few hot targets (hospital 0, hospital 0's own account, the first member,
 * patient 0), so short sequences often add, grant, remove and re-add the same grantee — the paths
 * where a grant could wrongly survive — while every index stays reachable.
 */
const hot = (max: number, ...favourites: number[]) =>
  fc.oneof(...favourites.map((f) => ({ arbitrary: fc.constant(f), weight: 2 })), {
    arbitrary: fc.nat(max),
    weight: 2,
  });
const hospitalArb = hot(H - 1, 0);
const accountArb = hot(A - 1, 0, H);
const granteeArb = hot(G - 1, 0, H);
const patientArb = hot(P - 1, 0);

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('addHospital' as const), h: hospitalArb }),
  fc.record({ kind: fc.constant('removeHospital' as const), h: hospitalArb }),
  {
    arbitrary: fc.record({ kind: fc.constant('addDoctor' as const), h: hospitalArb, a: accountArb }),
    weight: 2,
  },
  fc.record({ kind: fc.constant('removeDoctor' as const), h: hospitalArb, a: accountArb }),
  fc.record({ kind: fc.constant('addStaff' as const), h: hospitalArb, a: accountArb }),
  fc.record({ kind: fc.constant('removeStaff' as const), h: hospitalArb, a: accountArb }),
  {
    arbitrary: fc.record({
      kind: fc.constant('grant' as const),
      p: patientArb,
      g: granteeArb,
      scope: fc.constantFrom(
        0,
        SCOPES.encounters,
        SCOPES.observations,
        SCOPES.encounters | SCOPES.observations,
        ALL_SCOPES,
      ),
      duration: fc.constantFrom(-100, 120, 3_600, 86_400),
    }),
    weight: 4,
  },
  {
    arbitrary: fc.record({ kind: fc.constant('revoke' as const), p: patientArb, g: granteeArb }),
    weight: 2,
  },
  fc.record({ kind: fc.constant('travel' as const), seconds: fc.constantFrom(60, 3_600, 86_400) }),
);

/**
 * Lifecycles that give a grant and then end its grantee's registration — a hospital removed and
 * re-added, a doctor removed and added again (at the same or another hospital), an account moving
 * between roles — with random participants, interleaved with the random operations, so that most
 * sequences reach a state where a grant could wrongly survive.
 */
const grantTo = (p: number, g: number): Op => ({ kind: 'grant', p, g, scope: ALL_SCOPES, duration: 86_400 });
const pathArb: fc.Arbitrary<Op[]> = fc
  .record({
    path: fc.constantFrom('hospital', 'doctor', 'hospital→doctor', 'doctor→hospital', 'doctor→staff'),
    h: hospitalArb,
    to: hospitalArb,
    a: accountArb,
    p: patientArb,
  })
  .map(({ path, h, to, a, p }): Op[] => {
    switch (path) {
      case 'hospital':
        return [
          { kind: 'addHospital', h },
          grantTo(p, h),
          { kind: 'removeHospital', h },
          { kind: 'addHospital', h },
        ];
      case 'doctor':
        return [
          { kind: 'addHospital', h },
          { kind: 'addDoctor', h, a },
          grantTo(p, a),
          { kind: 'removeDoctor', h, a },
          { kind: 'addHospital', h: to },
          { kind: 'addDoctor', h: to, a },
        ];
      case 'hospital→doctor':
        return [
          { kind: 'addHospital', h },
          grantTo(p, h),
          { kind: 'removeHospital', h },
          { kind: 'addHospital', h: to },
          { kind: 'addDoctor', h: to, a: h },
        ];
      case 'doctor→hospital':
        return [
          { kind: 'addHospital', h: to },
          { kind: 'addDoctor', h: to, a: h },
          grantTo(p, h),
          { kind: 'removeDoctor', h: to, a: h },
          { kind: 'addHospital', h },
        ];
      case 'doctor→staff':
        return [
          { kind: 'addHospital', h },
          { kind: 'addDoctor', h, a },
          grantTo(p, a),
          { kind: 'removeDoctor', h, a },
          { kind: 'addStaff', h, a },
        ];
    }
  });
const sequenceArb: fc.Arbitrary<Op[]> = fc
  .array(fc.oneof({ arbitrary: opArb.map((op) => [op]), weight: 3 }, { arbitrary: pathArb, weight: 1 }), {
    minLength: 3,
    maxLength: 12,
  })
  .map((parts) => parts.flat());

describe('property: random operation sequences agree with a TypeScript model of the rules', () => {
  let chain: Chain;
  let hospitals: Actor[];
  let bridges: Actor[];
  /** Accounts 0..A-1: the hospitals', then the members' (doctors or staff, in turn). */
  let accounts: Actor[];
  let patients: Actor[];
  let stranger: Actor;
  const subjects = Array.from({ length: P }, (_, p) => keccak256(toUtf8Bytes(`property subject ${p}`)));

  before(async () => {
    chain = await startChain();
    const a = chain.actors;
    hospitals = [a.hospital, a.otherHospital, chain.actor(extraKey('hospital C'))];
    bridges = [a.bridge, a.otherBridge, chain.actor(extraKey('bridge C'))];
    accounts = [...hospitals, a.doctor, a.otherDoctor, a.staff, chain.actor(extraKey('member D'))];
    patients = [a.patient, a.otherPatient];
    stranger = a.stranger;
    // Patients register while hospital A exists, then the hospital is removed: every sequence starts
    // from no hospitals, no doctors, no staff, no grants and two registered patients.
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
    const grantee = (g: number) => (g < A ? accounts[g]! : stranger).address;
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
      case 'addStaff':
        outcome = await attempt(
          hospitals[op.h]!.registry,
          op.kind,
          accounts[op.a]!.address,
          `Member ${op.a}`,
        );
        break;
      case 'removeDoctor':
      case 'removeStaff':
        outcome = await attempt(hospitals[op.h]!.registry, op.kind, accounts[op.a]!.address);
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

  /**
   * Applies `ops` to the chain and to `model`, comparing after every step each outcome, every canRead
   * answer, every grant's status, every account's doctor and staff hospital, and the hospital list.
   */
  async function checkSequence(ops: Op[], model: Model): Promise<{ steps: number; checks: number }> {
    let steps = 0;
    let checks = 0;
    const zero = '0x0000000000000000000000000000000000000000';
    await chain.isolated(async () => {
      const readers = [...accounts, ...bridges, ...patients, stranger];
      const view = (fn: string, ...args: unknown[]) => chain.reader.getFunction(fn)(...args);
      for (const [i, op] of ops.entries()) {
        const expected = model.apply(op, await chain.now());
        const actual = await run(op);
        const at = `after step ${i} ${JSON.stringify(op)}`;
        assert.equal(actual, expected, `step ${i} ${JSON.stringify(op)}`);
        const now = await chain.now();
        const queries: Promise<void>[] = [];
        const check = (query: Promise<unknown>, expect: (answer: unknown) => void) =>
          queries.push(query.then(expect));
        for (const [r, reader] of readers.entries())
          for (let p = 0; p < P; p++)
            for (const scope of [SCOPES.encounters, SCOPES.encounters | SCOPES.observations, ALL_SCOPES])
              check(view('canRead', reader.address, subjects[p], scope), (answer) =>
                assert.equal(
                  answer,
                  model.canRead(r, p, scope, now),
                  `${at}: canRead(reader ${r}, patient ${p}, scope ${scope})`,
                ),
              );
        for (const [a, account] of accounts.entries()) {
          for (let p = 0; p < P; p++)
            check(view('grantOf', patients[p]!.address, account.address), (answer) =>
              assert.equal(
                grantStatusOf((answer as [bigint, bigint, bigint])[2]),
                model.grantStatus(p, a, now),
                `${at}: grantOf(patient ${p}, account ${a}) status`,
              ),
            );
          const expectHospital = (h: number) => (h < 0 ? zero : hospitals[h]!.address);
          check(view('hospitalOfDoctor', account.address), (answer) =>
            assert.equal(
              answer,
              expectHospital(model.activeHospital(model.doctors[a]!)),
              `${at}: doctor ${a}`,
            ),
          );
          check(view('hospitalOfStaff', account.address), (answer) =>
            assert.equal(answer, expectHospital(model.activeHospital(model.staff[a]!)), `${at}: staff ${a}`),
          );
        }
        check(view('hospitals'), (answer) =>
          assert.deepEqual(
            [...(answer as string[])].map((h) => getAddress(h)).sort(),
            hospitals
              .filter((_, h) => model.hospitals[h]!.active)
              .map((h) => h.address)
              .sort(),
            `${at}: hospitals()`,
          ),
        );
        await Promise.all(queries);
        steps += 1;
        checks += queries.length;
      }
    });
    return { steps, checks };
  }

  it(`agrees on every outcome, canRead answer and grant status (${RUNS} random sequences)`, async () => {
    let steps = 0;
    let checks = 0;
    await fc.assert(
      fc.asyncProperty(sequenceArb, async (ops) => {
        const done = await checkSequence(ops, new Model());
        steps += done.steps;
        checks += done.checks;
      }),
      // No shrinking: each replay costs real transactions; the failing step is named in the message anyway.
      { numRuns: RUNS, endOnFailure: true },
    );
    console.log(
      `property: ${RUNS} sequences, ${steps} operations, ${checks} view answers (canRead, grantOf, hospitalOf*, hospitals) compared with the model`,
    );
    assert.ok(steps > 0);
  });

  /** A model where re-adding a removed grantee revives the grants to it (the rule this contract rejects). */
  class RevivingModel extends Model {
    constructor(private readonly revives: 'hospital' | 'doctor') {
      super();
    }
    override current(a: number, g: Grant): boolean {
      if (g.toHospital && this.revives === 'hospital') return this.isActiveHospital(a);
      if (!g.toHospital && this.revives === 'doctor') return this.activeHospital(this.doctors[a]!) >= 0;
      return super.current(a, g);
    }
  }
  const perStep = A + H + P + 1; // readers
  const checksPerStep = perStep * P * 3 + A * (P + 2) + 1;

  it('fails against a model where re-adding a doctor revives their grants', async () => {
    const ops: Op[] = [
      { kind: 'addHospital', h: 0 },
      { kind: 'addDoctor', h: 0, a: H },
      { kind: 'grant', p: 0, g: H, scope: ALL_SCOPES, duration: 86_400 },
      { kind: 'removeDoctor', h: 0, a: H },
      { kind: 'addDoctor', h: 0, a: H },
    ];
    assert.deepEqual(await checkSequence(ops, new Model()), { steps: 5, checks: 5 * checksPerStep });
    await assert.rejects(
      checkSequence(ops, new RevivingModel('doctor')),
      /after step 4 .*addDoctor.*(canRead\(reader 3, patient 0|grantOf\(patient 0, account 3\))/,
    );
  });

  it('fails against a model where re-adding a hospital revives the grants to it', async () => {
    const ops: Op[] = [
      { kind: 'addHospital', h: 0 },
      { kind: 'grant', p: 0, g: 0, scope: ALL_SCOPES, duration: 86_400 },
      { kind: 'removeHospital', h: 0 },
      { kind: 'addHospital', h: 0 },
    ];
    assert.deepEqual(await checkSequence(ops, new Model()), { steps: 4, checks: 4 * checksPerStep });
    await assert.rejects(
      checkSequence(ops, new RevivingModel('hospital')),
      /after step 3 .*addHospital.*(canRead\(reader (0|7), patient 0|grantOf\(patient 0, account 0\))/,
    );
  });
});
