/** Consent lifecycle on a real anvil: grant, read, expiry (time travel), revoke, removed doctors and hospitals. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ALL_SCOPES, NO_EXPIRY, SCOPES } from '@ehr-anchor/contracts';
import { keccak256, toUtf8Bytes } from 'ethers';
import { SUBJECTS, attempt, send, setUpNetwork, startChain, type Chain } from './fixture.js';

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
        [...(await chain.reader.getFunction('grantOf')(patient.address, doctor.address))].map(Number),
        [SCOPES.medications, expiresAt],
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

  it('ends a removed hospital’s access, its doctors’ and its bridge’s; re-adding it does not bring the doctors back', () =>
    chain.isolated(async () => {
      const { admin, hospital, bridge, doctor } = chain.actors;
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
      await send(
        admin.registry,
        'addHospital',
        hospital.address,
        bridge.address,
        '0x' + '44'.repeat(32),
        'Hospital A',
      );
      assert.equal(
        await canRead(hospital.address, SUBJECTS.patient, SCOPES.encounters),
        true,
        'the patient’s grant to the hospital stands',
      );
      assert.equal(
        await canRead(doctor.address, SUBJECTS.patient, SCOPES.encounters),
        false,
        'doctors of the earlier registration stay removed',
      );
      await send(hospital.registry, 'addDoctor', doctor.address);
      assert.equal(await canRead(doctor.address, SUBJECTS.patient, SCOPES.encounters), true);
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
