/**
 * The network's directory on chain: display names of hospitals, doctors and staff (set when added,
 * editable, bounded), staff as a single role, each hospital's bridge endpoint, and the discovery views
 * (`hospitals()`, `subjectsOf(wallet)`) whose lists never make a transaction's gas grow.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  ENDPOINT_SERVICES,
  MAX_ENDPOINT_URL_LENGTH,
  MAX_NAME_LENGTH,
  endpointServiceMask,
  endpointServices,
} from '@ehr-anchor/contracts';
import { getBytes, keccak256, toUtf8Bytes, type ContractTransactionReceipt } from 'ethers';
import { NAMES, attempt, extraKey, send, setUpNetwork, startChain, type Chain } from './fixture.js';

const ZERO = '0x0000000000000000000000000000000000000000';
const refusal = (o: Awaited<ReturnType<typeof attempt>>) =>
  o.ok ? 'ok' : [o.error, ...o.args.map((a) => (typeof a === 'bigint' ? Number(a) : a))];

describe('directory: names, staff, bridge endpoints and discovery', () => {
  let chain: Chain;
  before(async () => {
    chain = await startChain();
    await setUpNetwork(chain);
  });
  after(() => chain.stop());

  const view = (fn: string, ...args: unknown[]) => chain.reader.getFunction(fn)(...args);
  const info = async (fn: 'doctorInfo' | 'staffInfo', account: string) => [...(await view(fn, account))];

  it('the registry’s length limits are the ones the package exports for forms', async () => {
    assert.equal(Number(await view('MAX_NAME_LENGTH')), MAX_NAME_LENGTH);
    assert.equal(Number(await view('MAX_URL_LENGTH')), MAX_ENDPOINT_URL_LENGTH);
  });

  it('names hospitals, doctors and staff when they are added, and shows them in the views and events', async () => {
    const { hospital, otherHospital, doctor, otherDoctor, staff } = chain.actors;
    assert.equal((await view('hospitalInfo', hospital.address))[4], NAMES.hospital);
    assert.equal((await view('hospitalInfo', otherHospital.address))[4], NAMES.otherHospital);
    assert.deepEqual(await info('doctorInfo', doctor.address), [hospital.address, NAMES.doctor, true]);
    assert.deepEqual(await info('doctorInfo', otherDoctor.address), [
      otherHospital.address,
      NAMES.otherDoctor,
      true,
    ]);
    assert.deepEqual(await info('staffInfo', staff.address), [hospital.address, NAMES.staff, true]);
    assert.deepEqual(await info('doctorInfo', staff.address), [ZERO, '', false], 'staff is not a doctor');
    assert.deepEqual(await info('staffInfo', doctor.address), [ZERO, '', false], 'a doctor is not staff');
    const r = chain.reader;
    const [added] = await r.queryFilter(r.filters.DoctorAdded!(hospital.address, doctor.address));
    assert.equal((added as unknown as { args: unknown[] }).args[2], NAMES.doctor);
    const [staffAdded] = await r.queryFilter(r.filters.StaffAdded!(hospital.address, staff.address));
    assert.equal((staffAdded as unknown as { args: unknown[] }).args[2], NAMES.staff);
  });

  it('lets a hospital rename itself and the network admin rename any hospital', () =>
    chain.isolated(async () => {
      const { admin, hospital, otherHospital } = chain.actors;
      const own = await attempt(hospital.registry, 'setHospitalName', hospital.address, 'Saint Anne');
      assert.ok(own.ok && own.events.includes('HospitalRenamed'));
      assert.equal((await view('hospitalInfo', hospital.address))[4], 'Saint Anne');
      await send(admin.registry, 'setHospitalName', otherHospital.address, 'Riverside Clinic');
      assert.equal((await view('hospitalInfo', otherHospital.address))[4], 'Riverside Clinic');
      const stranger = chain.actor(extraKey('not registered'));
      assert.deepEqual(
        refusal(await attempt(admin.registry, 'setHospitalName', stranger.address, 'Nowhere')),
        ['UnknownHospital', stranger.address.toLowerCase()],
      );
    }));

  it('lets a hospital rename its own doctors and staff only', () =>
    chain.isolated(async () => {
      const { hospital, otherHospital, doctor, staff } = chain.actors;
      await send(hospital.registry, 'setDoctorName', doctor.address, 'Dr. Ada Lovelace');
      await send(hospital.registry, 'setStaffName', staff.address, 'Sam Health Worker');
      assert.deepEqual(await info('doctorInfo', doctor.address), [
        hospital.address,
        'Dr. Ada Lovelace',
        true,
      ]);
      assert.deepEqual(await info('staffInfo', staff.address), [hospital.address, 'Sam Health Worker', true]);
      assert.deepEqual(refusal(await attempt(otherHospital.registry, 'setDoctorName', doctor.address, 'X')), [
        'NotDoctorOfHospital',
        doctor.address.toLowerCase(),
        otherHospital.address.toLowerCase(),
      ]);
      // A staff member is not a doctor, nor the other way round.
      assert.deepEqual(refusal(await attempt(hospital.registry, 'setDoctorName', staff.address, 'X')), [
        'NotDoctorOfHospital',
        staff.address.toLowerCase(),
        hospital.address.toLowerCase(),
      ]);
      assert.deepEqual(refusal(await attempt(hospital.registry, 'setStaffName', doctor.address, 'X')), [
        'NotStaffOfHospital',
        doctor.address.toLowerCase(),
        hospital.address.toLowerCase(),
      ]);
    }));

  it('refuses an empty name and a name longer than 128 UTF-8 bytes, everywhere a name is set', () =>
    chain.isolated(async () => {
      const { admin, hospital, doctor, staff } = chain.actors;
      const longest = 'é'.repeat(MAX_NAME_LENGTH / 2); // 2 bytes each: exactly the limit
      const tooLong = `${longest}x`;
      const calls: [string, (name: string) => Promise<Awaited<ReturnType<typeof attempt>>>][] = [
        [
          'addHospital',
          (name) =>
            attempt(
              admin.registry,
              'addHospital',
              chain.actor(extraKey(`h ${name.length}`)).address,
              chain.actor(extraKey(`b ${name.length}`)).address,
              '0x01',
              name,
            ),
        ],
        ['setHospitalName', (name) => attempt(hospital.registry, 'setHospitalName', hospital.address, name)],
        [
          'addDoctor',
          (name) =>
            attempt(hospital.registry, 'addDoctor', chain.actor(extraKey(`d ${name.length}`)).address, name),
        ],
        ['setDoctorName', (name) => attempt(hospital.registry, 'setDoctorName', doctor.address, name)],
        [
          'addStaff',
          (name) =>
            attempt(hospital.registry, 'addStaff', chain.actor(extraKey(`s ${name.length}`)).address, name),
        ],
        ['setStaffName', (name) => attempt(hospital.registry, 'setStaffName', staff.address, name)],
      ];
      for (const [fn, call] of calls) {
        assert.deepEqual(refusal(await call('')), ['EmptyName'], `${fn} with an empty name`);
        assert.deepEqual(
          refusal(await call(tooLong)),
          ['NameTooLong', MAX_NAME_LENGTH + 1, MAX_NAME_LENGTH],
          `${fn} with ${MAX_NAME_LENGTH + 1} bytes`,
        );
        assert.equal(refusal(await call(longest)), 'ok', `${fn} with exactly ${MAX_NAME_LENGTH} bytes`);
      }
    }));

  it('keeps a removed doctor’s and staff member’s last hospital and name, marked inactive', () =>
    chain.isolated(async () => {
      const { admin, hospital, doctor, staff } = chain.actors;
      await send(hospital.registry, 'removeStaff', staff.address);
      assert.deepEqual(await info('staffInfo', staff.address), [hospital.address, NAMES.staff, false]);
      assert.equal(await view('hospitalOfStaff', staff.address), ZERO);
      await send(admin.registry, 'removeHospital', hospital.address);
      assert.deepEqual(await info('doctorInfo', doctor.address), [hospital.address, NAMES.doctor, false]);
      assert.equal(await view('hospitalOfDoctor', doctor.address), ZERO);
    }));

  it('gives every account one role: staff, doctors, hospitals and bridges never overlap', () =>
    chain.isolated(async () => {
      const { admin, hospital, otherHospital, doctor, staff, bridge } = chain.actors;
      const lower = (a: { address: string }) => a.address.toLowerCase();
      const results = [
        await attempt(hospital.registry, 'addStaff', doctor.address, 'X'),
        await attempt(hospital.registry, 'addDoctor', staff.address, 'X'),
        await attempt(otherHospital.registry, 'addStaff', staff.address, 'X'),
        await attempt(hospital.registry, 'addStaff', bridge.address, 'X'),
        await attempt(hospital.registry, 'addStaff', otherHospital.address, 'X'),
        await attempt(hospital.registry, 'setBridgeSigner', staff.address),
        await attempt(
          admin.registry,
          'addHospital',
          staff.address,
          lower(chain.actors.stranger),
          '0x01',
          'X',
        ),
        await attempt(hospital.registry, 'addStaff', ZERO, 'X'),
      ].map(refusal);
      assert.deepEqual(results, [
        ['AccountInUse', lower(doctor)],
        ['AccountInUse', lower(staff)],
        ['StaffAlreadyRegistered', lower(staff), lower(hospital)],
        ['AccountInUse', lower(bridge)],
        ['AccountInUse', lower(otherHospital)],
        ['AccountInUse', lower(staff)],
        ['AccountInUse', lower(staff)],
        ['ZeroAddress'],
      ]);
      // Removed, the account is free for another role.
      await send(hospital.registry, 'removeStaff', staff.address);
      assert.equal(
        refusal(await attempt(otherHospital.registry, 'addDoctor', staff.address, 'Dr. Sam')),
        'ok',
      );
    }));

  it('publishes a hospital’s bridge endpoint and what it serves; removal withdraws it for good', () =>
    chain.isolated(async () => {
      const { admin, hospital, otherHospital, bridge } = chain.actors;
      assert.deepEqual([...(await view('endpointOf', hospital.address))], ['', 0n]);
      const services = endpointServiceMask(['records', 'documents', 'entries', 'search']);
      const url = 'https://bridge.hospital-a.example/api';
      const set = await attempt(hospital.registry, 'setEndpoint', url, services);
      assert.ok(set.ok && set.events.includes('EndpointChanged'));
      const [got, mask] = (await view('endpointOf', hospital.address)) as [string, bigint];
      assert.equal(got, url);
      assert.deepEqual(endpointServices(Number(mask)), ['records', 'documents', 'entries', 'search']);
      const r = chain.reader;
      const [event] = await r.queryFilter(r.filters.EndpointChanged!(hospital.address));
      assert.deepEqual(
        [...(event as unknown as { args: unknown[] }).args],
        [hospital.address, url, BigInt(services)],
      );
      assert.deepEqual([...(await view('endpointOf', otherHospital.address))], ['', 0n], 'per hospital');

      await send(admin.registry, 'removeHospital', hospital.address);
      assert.deepEqual([...(await view('endpointOf', hospital.address))], ['', 0n], 'withdrawn on removal');
      await send(admin.registry, 'addHospital', hospital.address, bridge.address, '0x01', NAMES.hospital);
      assert.deepEqual(
        [...(await view('endpointOf', hospital.address))],
        ['', 0n],
        'not revived by re-adding',
      );
    }));

  it('refuses an empty endpoint URL, one longer than 256 bytes, and an endpoint with no service', () =>
    chain.isolated(async () => {
      const { hospital } = chain.actors;
      const records = ENDPOINT_SERVICES.records;
      const base = 'https://bridge.example/';
      const longest = base + 'a'.repeat(MAX_ENDPOINT_URL_LENGTH - base.length);
      const results = [
        await attempt(hospital.registry, 'setEndpoint', '', records),
        await attempt(hospital.registry, 'setEndpoint', `${longest}a`, records),
        await attempt(hospital.registry, 'setEndpoint', base, 0),
        await attempt(hospital.registry, 'setEndpoint', longest, records),
      ].map(refusal);
      assert.deepEqual(results, [
        ['EmptyEndpointUrl'],
        ['EndpointUrlTooLong', MAX_ENDPOINT_URL_LENGTH + 1, MAX_ENDPOINT_URL_LENGTH],
        ['NoEndpointServices'],
        'ok',
      ]);
    }));

  it('lists the registered hospitals (hospitals()), without removed ones, and again once re-added', () =>
    chain.isolated(async () => {
      const { admin, hospital, otherHospital, bridge } = chain.actors;
      const list = async () => [...((await view('hospitals')) as string[])].sort();
      assert.deepEqual(await list(), [hospital.address, otherHospital.address].sort());
      await send(admin.registry, 'removeHospital', hospital.address);
      assert.deepEqual(await list(), [otherHospital.address]);
      await send(admin.registry, 'addHospital', hospital.address, bridge.address, '0x01', NAMES.hospital);
      assert.deepEqual(await list(), [hospital.address, otherHospital.address].sort());
    }));

  it('lists the subjects bound to a wallet with the hospital that approved each (subjectsOf)', () =>
    chain.isolated(async () => {
      const { hospital, otherHospital, patient, visitor, stranger } = chain.actors;
      const bindings = async (wallet: string) =>
        ((await view('subjectsOf', wallet)) as [string, string][]).map(([s, h]) => [s, h]);
      const atB = keccak256(toUtf8Bytes('subject of patient at hospital B'));
      await send(patient.registry, 'requestRegistration', otherHospital.address, atB);
      assert.equal((await bindings(patient.address)).length, 1, 'a pending request is not listed');
      await send(otherHospital.registry, 'approveRegistration', patient.address);
      assert.deepEqual(await bindings(patient.address), [
        [keccak256(toUtf8Bytes('subject of patient at hospital A')), hospital.address],
        [atB, otherHospital.address],
      ]);
      await send(hospital.registry, 'rejectRegistration', visitor.address);
      assert.deepEqual(await bindings(visitor.address), [], 'a rejected request is not listed');
      assert.deepEqual(await bindings(stranger.address), []);
      assert.equal(await view('isPatient', patient.address), true);
      assert.equal(await view('isPatient', visitor.address), false);
    }));

  it('costs the same gas to add a hospital, approve a registration and grant, however long the lists are', () =>
    chain.isolated(async () => {
      const { admin } = chain.actors;
      // Execution gas: gasUsed without the intrinsic 21,000 and the calldata bytes (4 per zero, 16 per other byte).
      const execution = async (receipt: ContractTransactionReceipt) => {
        const data = getBytes((await chain.provider.getTransaction(receipt.hash))!.data);
        return Number(receipt.gasUsed) - 21_000 - data.reduce((sum, b) => sum + (b === 0 ? 4 : 16), 0);
      };
      const addHospital = async (i: number) => {
        const h = chain.actor(extraKey(`crowd hospital ${i}`));
        const receipt = await send(
          admin.registry,
          'addHospital',
          h.address,
          chain.actor(extraKey(`crowd bridge ${i}`)).address,
          '0x01',
          'Crowd Hospital',
        );
        return { h, gas: await execution(receipt) };
      };
      const wallet = chain.actor(extraKey('crowd patient'));
      const register = async (h: { address: string; registry: typeof admin.registry }, i: number) => {
        await send(wallet.registry, 'requestRegistration', h.address, keccak256(toUtf8Bytes(`crowd ${i}`)));
        return execution(await send(h.registry, 'approveRegistration', wallet.address));
      };
      const grant = async (h: { address: string }) =>
        execution(await send(wallet.registry, 'grantAccess', h.address, 1, 2n ** 40n));
      const first = await addHospital(0);
      const second = await addHospital(1);
      await register(first.h, 0); // the wallet's first binding creates its list
      const approveSecond = await register(second.h, 1);
      const grantSecond = await grant(second.h);
      let last = second;
      let approveLast = 0;
      for (let i = 2; i < 12; i++) {
        last = await addHospital(i);
        approveLast = await register(last.h, i);
      }
      const grantLast = await grant(last.h);
      assert.equal(last.gas, second.gas, 'the 12th hospital costs what the 2nd did');
      assert.equal(approveLast, approveSecond, 'the 12th subject of a wallet costs what the 2nd did');
      assert.equal(grantLast, grantSecond, 'a grant costs the same with 12 hospitals and subjects');
      assert.equal(((await view('subjectsOf', wallet.address)) as unknown[]).length, 12);
    }));
});
