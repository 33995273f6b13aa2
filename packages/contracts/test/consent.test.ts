/**
 * Consent lifecycle on a real anvil: grant, read, expiry (time travel), revoke; removal ends grants
 * (re-adding a hospital or a doctor revives none); grant status; staff read nothing through consent.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ALL_SCOPES, GRANT_STATUS, NO_EXPIRY, SCOPES, grantStatusOf } from '@ehr-anchor/contracts';
import { keccak256, toUtf8Bytes } from 'ethers';
import { NAMES, SUBJECTS, attempt, send, setUpNetwork, startChain, type Chain } from './fixture.js';

describe('consent lifecycle', () => {
  let chain: Chain;
  before(async () => {
    chain = await startChain();
    await setUpNetwork(chain);
  });
  after(() => chain.stop());

  const canRead = (reader: string, subject: string, scope: number, blockTag?: number) =>
    chain.reader.getFunction('canRead')(
      reader,
      subject,
      scope,
      blockTag === undefined ? {} : { blockTag },
    ) as Promise<boolean>;
  const grantStatus = async (patient: string, grantee: string) =>
    grantStatusOf(
      ((await chain.reader.getFunction('grantOf')(patient, grantee)) as [bigint, bigint, bigint])[2],
    );

  it('lets a patient read their own records in every scope, and nobody read an unknown subject', async () => {
    const { patient, hospital } = chain.actors;
    assert.equal(await canRead(patient.address, SUBJECTS.patient, ALL_SCOPES), true);
    assert.equal(await canRead(patient.address, SUBJECTS.otherPatient, SCOPES.encounters), false);
    assert.equal(await canRead(hospital.address, keccak256(toUtf8Bytes('nobody')), SCOPES.encounters), false);
  });

  it('lets a granted doctor read inside the scope only, and not the other hospital’s doctor', () =>
    chain.isolated(async () => {
      const { patient, hospital, doctor, otherDoctor } = chain.actors;
      await send(patient.registry, 'revokeAccess', hospital.address); // only the doctor's own grant counts here
      await send(
        patient.registry,
        'grantAccess',
        doctor.address,
        SCOPES.observations | SCOPES.conditions,
        NO_EXPIRY,
      );
      assert.equal(await canRead(doctor.address, SUBJECTS.patient, SCOPES.observations), true);
      assert.equal(
        await canRead(doctor.address, SUBJECTS.patient, SCOPES.observations | SCOPES.conditions),
        true,
      );
      assert.equal(await canRead(doctor.address, SUBJECTS.patient, SCOPES.medications), false);
      assert.equal(
        await canRead(doctor.address, SUBJECTS.patient, SCOPES.observations | SCOPES.medications),
        false,
      );
      assert.equal(await canRead(otherDoctor.address, SUBJECTS.patient, SCOPES.observations), false);
      assert.equal(await canRead(doctor.address, SUBJECTS.otherPatient, SCOPES.observations), false);
    }));

  it('refuses a grant once its expiry has passed (anvil time travel)', () =>
    chain.isolated(async () => {
      const { patient, hospital, doctor } = chain.actors;
      await send(patient.registry, 'revokeAccess', hospital.address); // only the doctor's own grant counts here
      const expiresAt = (await chain.now()) + 3600;
      await send(patient.registry, 'grantAccess', doctor.address, SCOPES.medications, expiresAt);
      assert.equal(await canRead(doctor.address, SUBJECTS.patient, SCOPES.medications), true);
      await chain.travel(1800);
      assert.equal(
        await canRead(doctor.address, SUBJECTS.patient, SCOPES.medications),
        true,
        'half-way: still valid',
      );
      await chain.travel(1801);
      assert.ok((await chain.now()) >= expiresAt);
      assert.equal(await canRead(doctor.address, SUBJECTS.patient, SCOPES.medications), false);
      assert.deepEqual(
        [...(await chain.reader.getFunction('grantOf')(patient.address, doctor.address))]
          .slice(0, 3)
          .map(Number),
        [SCOPES.medications, expiresAt, GRANT_STATUS.expired],
        'the expired grant stays visible to the patient until revoked or replaced',
      );
    }));

  it('refuses a revoked doctor in the next block', () =>
    chain.isolated(async () => {
      const { patient, hospital, doctor } = chain.actors;
      await send(patient.registry, 'revokeAccess', hospital.address);
      await send(patient.registry, 'grantAccess', doctor.address, ALL_SCOPES, NO_EXPIRY);
      const revoke = await send(patient.registry, 'revokeAccess', doctor.address);
      assert.equal(
        await canRead(doctor.address, SUBJECTS.patient, SCOPES.encounters, revoke.blockNumber - 1),
        true,
        'allowed before',
      );
      assert.equal(
        await canRead(doctor.address, SUBJECTS.patient, SCOPES.encounters, revoke.blockNumber),
        false,
        'refused from the revoking block on',
      );
      assert.equal(await canRead(doctor.address, SUBJECTS.patient, SCOPES.encounters), false);
    }));

  it('lets the doctors and the bridge of a granted hospital read through the hospital’s grant', async () => {
    const { hospital, bridge, doctor, otherHospital, otherBridge, otherDoctor, stranger } = chain.actors;
    for (const reader of [hospital, bridge, doctor])
      assert.equal(await canRead(reader.address, SUBJECTS.patient, SCOPES.documents), true);
    for (const reader of [otherHospital, otherBridge, otherDoctor, stranger]) {
      assert.equal(await canRead(reader.address, SUBJECTS.patient, SCOPES.documents), false);
    }
  });

  it('ends a removed doctor’s access in the next block, through their own grant and the hospital’s', () =>
    chain.isolated(async () => {
      const { patient, hospital, doctor } = chain.actors;
      await send(patient.registry, 'grantAccess', doctor.address, ALL_SCOPES, NO_EXPIRY);
      const removal = await send(hospital.registry, 'removeDoctor', doctor.address);
      assert.equal(
        await canRead(doctor.address, SUBJECTS.patient, SCOPES.encounters, removal.blockNumber - 1),
        true,
      );
      assert.equal(
        await canRead(doctor.address, SUBJECTS.patient, SCOPES.encounters, removal.blockNumber),
        false,
      );
      assert.equal(
        await chain.reader.getFunction('hospitalOfDoctor')(doctor.address),
        '0x0000000000000000000000000000000000000000',
      );
      const refused = await attempt(patient.registry, 'grantAccess', doctor.address, ALL_SCOPES, NO_EXPIRY);
      assert.deepEqual(refused.ok ? 'granted' : [refused.error, ...refused.args], [
        'InvalidGrantee',
        doctor.address.toLowerCase(),
      ]);
    }));

  it('removing a hospital ends every grant to it, its doctors’ and its bridge’s access; re-adding it revives none', () =>
    chain.isolated(async () => {
      const { admin, hospital, bridge, doctor, patient } = chain.actors;
      await send(patient.registry, 'grantAccess', doctor.address, ALL_SCOPES, NO_EXPIRY);
      await send(admin.registry, 'removeHospital', hospital.address);
      for (const reader of [hospital, bridge, doctor])
        assert.equal(await canRead(reader.address, SUBJECTS.patient, SCOPES.encounters), false);
      const anchorTry = await attempt(
        bridge.registry,
        'anchor',
        keccak256(toUtf8Bytes('late root')),
        'bafkrei-late',
        1,
      );
      assert.deepEqual(anchorTry.ok ? 'anchored' : [anchorTry.error, ...anchorTry.args], [
        'NotBridgeSigner',
        bridge.address.toLowerCase(),
      ]);
      assert.equal(await grantStatus(patient.address, hospital.address), 'ended');
      assert.equal(await grantStatus(patient.address, doctor.address), 'ended');
      await send(
        admin.registry,
        'addHospital',
        hospital.address,
        bridge.address,
        '0x' + '44'.repeat(32),
        'Hospital A',
      );
      for (const reader of [hospital, bridge, doctor])
        assert.equal(
          await canRead(reader.address, SUBJECTS.patient, SCOPES.encounters),
          false,
          'the grant to the hospital’s earlier registration stays ended',
        );
      assert.equal(await grantStatus(patient.address, hospital.address), 'ended');
      await send(hospital.registry, 'addDoctor', doctor.address, NAMES.doctor);
      assert.equal(
        await canRead(doctor.address, SUBJECTS.patient, SCOPES.encounters),
        false,
        'a doctor added again reads through neither the old hospital grant nor their own old grant',
      );
      assert.equal(await grantStatus(patient.address, doctor.address), 'ended');
      // The patient grants again: that grant counts.
      await send(patient.registry, 'grantAccess', hospital.address, SCOPES.encounters, NO_EXPIRY);
      assert.equal(await grantStatus(patient.address, hospital.address), 'active');
      for (const reader of [hospital, bridge, doctor])
        assert.equal(await canRead(reader.address, SUBJECTS.patient, SCOPES.encounters), true);
    }));

  it('removing a doctor ends their own grants; adding them again (here or elsewhere) revives none', () =>
    chain.isolated(async () => {
      const { patient, hospital, otherHospital, doctor } = chain.actors;
      await send(patient.registry, 'revokeAccess', hospital.address); // only the doctor's own grant counts here
      await send(patient.registry, 'grantAccess', doctor.address, SCOPES.observations, NO_EXPIRY);
      assert.equal(await grantStatus(patient.address, doctor.address), 'active');
      await send(hospital.registry, 'removeDoctor', doctor.address);
      assert.equal(await grantStatus(patient.address, doctor.address), 'ended');
      await send(hospital.registry, 'addDoctor', doctor.address, NAMES.doctor);
      assert.equal(await canRead(doctor.address, SUBJECTS.patient, SCOPES.observations), false);
      assert.equal(await grantStatus(patient.address, doctor.address), 'ended');
      await send(hospital.registry, 'removeDoctor', doctor.address);
      await send(otherHospital.registry, 'addDoctor', doctor.address, NAMES.doctor);
      assert.equal(await canRead(doctor.address, SUBJECTS.patient, SCOPES.observations), false);
      await send(patient.registry, 'grantAccess', doctor.address, SCOPES.observations, NO_EXPIRY);
      assert.equal(await canRead(doctor.address, SUBJECTS.patient, SCOPES.observations), true);
      assert.equal(await grantStatus(patient.address, doctor.address), 'active');
    }));

  it('an account removed from one role does not inherit, in its next role, the grants of the first', () =>
    chain.isolated(async () => {
      const { admin, patient, hospital, otherHospital } = chain.actors;
      // Hospital A's account: granted as a hospital, removed, then added as a doctor of hospital B.
      await send(admin.registry, 'removeHospital', hospital.address);
      await send(otherHospital.registry, 'addDoctor', hospital.address, 'Dr. Former Hospital');
      assert.equal(await grantStatus(patient.address, hospital.address), 'ended');
      assert.equal(await canRead(hospital.address, SUBJECTS.patient, SCOPES.encounters), false);
      // And back: a doctor's grant does not become a hospital's.
      await send(patient.registry, 'grantAccess', hospital.address, ALL_SCOPES, NO_EXPIRY);
      assert.equal(await canRead(hospital.address, SUBJECTS.patient, SCOPES.encounters), true);
      await send(otherHospital.registry, 'removeDoctor', hospital.address);
      await send(admin.registry, 'addHospital', hospital.address, chain.actors.bridge.address, '0x01', 'A');
      assert.equal(await grantStatus(patient.address, hospital.address), 'ended');
      assert.equal(await canRead(hospital.address, SUBJECTS.patient, SCOPES.encounters), false);
    }));

  it('reports each stored grant as active, expired or ended with its scope, expiry and kind (grantOf)', () =>
    chain.isolated(async () => {
      const { patient, hospital, doctor, stranger } = chain.actors;
      const expiresAt = (await chain.now()) + 600;
      await send(patient.registry, 'grantAccess', doctor.address, SCOPES.allergies, expiresAt);
      const row = async (grantee: string) =>
        [...(await chain.reader.getFunction('grantOf')(patient.address, grantee))].map((v) =>
          typeof v === 'bigint' ? Number(v) : v,
        );
      assert.deepEqual(await row(hospital.address), [
        ALL_SCOPES,
        Number(NO_EXPIRY),
        GRANT_STATUS.active,
        true,
      ]);
      assert.deepEqual(await row(doctor.address), [SCOPES.allergies, expiresAt, GRANT_STATUS.active, false]);
      assert.deepEqual(await row(stranger.address), [0, 0, GRANT_STATUS.none, false]);
      await chain.travel(601);
      assert.equal(await grantStatus(patient.address, doctor.address), 'expired');
      await send(hospital.registry, 'removeDoctor', doctor.address);
      assert.equal(await grantStatus(patient.address, doctor.address), 'ended', 'ended wins over expired');
      // An ended grant can still be revoked (the patient tidies their list).
      const revoked = await attempt(patient.registry, 'revokeAccess', doctor.address);
      assert.ok(revoked.ok && revoked.events.includes('AccessRevoked'));
      assert.equal(await grantStatus(patient.address, doctor.address), 'none');
    }));

  it('gives staff no read access through consent, and refuses them as grantees', () =>
    chain.isolated(async () => {
      const { patient, staff, hospital } = chain.actors;
      // The patient's grant to the staff member's hospital does not extend to staff.
      assert.equal(await canRead(hospital.address, SUBJECTS.patient, SCOPES.documents), true);
      assert.equal(await canRead(staff.address, SUBJECTS.patient, SCOPES.documents), false);
      const refused = await attempt(patient.registry, 'grantAccess', staff.address, ALL_SCOPES, NO_EXPIRY);
      assert.deepEqual(refused.ok ? 'granted' : [refused.error, ...refused.args], [
        'InvalidGrantee',
        staff.address.toLowerCase(),
      ]);
      assert.equal(await chain.reader.getFunction('hospitalOfStaff')(staff.address), hospital.address);
    }));

  it('refuses grants with an empty scope, a past expiry or a grantee that is no hospital or doctor', () =>
    chain.isolated(async () => {
      const { patient, doctor, stranger } = chain.actors;
      const now = await chain.now();
      const errors = [
        await attempt(patient.registry, 'grantAccess', doctor.address, 0, NO_EXPIRY),
        await attempt(patient.registry, 'grantAccess', doctor.address, SCOPES.encounters, now),
        await attempt(patient.registry, 'grantAccess', stranger.address, SCOPES.encounters, NO_EXPIRY),
      ].map((o) => (o.ok ? 'ok' : [o.error, ...o.args.map(String)]));
      assert.deepEqual(errors, [
        ['EmptyScope'],
        ['ExpiryNotInFuture', String(now)],
        ['InvalidGrantee', stranger.address.toLowerCase()],
      ]);
    }));

  it('binds a subject only through its hospital’s approval, once', () =>
    chain.isolated(async () => {
      const { hospital, visitor, stranger } = chain.actors;
      assert.equal(
        await chain.reader.getFunction('pendingRegistration')(visitor.address, hospital.address),
        SUBJECTS.visitor,
      );
      assert.equal(await chain.reader.getFunction('isPatient')(visitor.address), false);
      await send(stranger.registry, 'requestRegistration', hospital.address, SUBJECTS.visitor);
      const approval = await attempt(hospital.registry, 'approveRegistration', visitor.address);
      assert.ok(approval.ok && approval.events.includes('RegistrationApproved'));
      assert.equal(await chain.reader.getFunction('patientOf')(SUBJECTS.visitor), visitor.address);
      assert.equal(await chain.reader.getFunction('isPatient')(visitor.address), true);
      // A competing request for the same subject can no longer be approved, nor a new one made.
      const second = await attempt(hospital.registry, 'approveRegistration', stranger.address);
      assert.deepEqual(second.ok ? 'ok' : [second.error, ...second.args], [
        'SubjectAlreadyBound',
        SUBJECTS.visitor,
      ]);
      const third = await attempt(
        stranger.registry,
        'requestRegistration',
        hospital.address,
        SUBJECTS.visitor,
      );
      assert.deepEqual(third.ok ? 'ok' : [third.error, ...third.args], [
        'SubjectAlreadyBound',
        SUBJECTS.visitor,
      ]);
    }));

  it('leaves a rejected request unbound', () =>
    chain.isolated(async () => {
      const { hospital, visitor } = chain.actors;
      await send(hospital.registry, 'rejectRegistration', visitor.address);
      assert.equal(
        await chain.reader.getFunction('patientOf')(SUBJECTS.visitor),
        '0x0000000000000000000000000000000000000000',
      );
      assert.equal(
        await chain.reader.getFunction('pendingRegistration')(visitor.address, hospital.address),
        '0x' + '00'.repeat(32),
      );
    }));

  it('indexes consent events by patient and grantee, so the bridge can filter them', () =>
    chain.isolated(async () => {
      const { patient, otherPatient, doctor, otherDoctor } = chain.actors;
      await send(patient.registry, 'grantAccess', doctor.address, SCOPES.allergies, NO_EXPIRY);
      await send(otherPatient.registry, 'grantAccess', otherDoctor.address, SCOPES.allergies, NO_EXPIRY);
      await send(patient.registry, 'revokeAccess', doctor.address);
      const r = chain.reader;
      const forPatient = await r.queryFilter(r.filters.AccessGranted!(patient.address));
      assert.deepEqual(
        forPatient.map((e) => (e as unknown as { args: unknown[] }).args[1]),
        [chain.actors.hospital.address, doctor.address],
      );
      const forGrantee = await r.queryFilter(r.filters.AccessGranted!(null, otherDoctor.address));
      assert.equal(forGrantee.length, 1);
      const revoked = await r.queryFilter(r.filters.AccessRevoked!(patient.address, doctor.address));
      assert.equal(revoked.length, 1);
    }));
});
