/**
 * No PHI on chain: run the directory, registration, consent and anchor flows for fixture patients (their
 * subjects pseudonymized the way the bridge does it) and scan every byte of their calldata and of
 * every event of the registry with the shared scanner. The scanner must see a name put in calldata.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ALL_ENDPOINT_SERVICES, NO_EXPIRY, scopeMask, categoryOf } from '@ehr-anchor/contracts';
import {
  buildTree,
  contentHash,
  leafHash,
  pseudonym,
  rawCid,
  randomSalt,
  type LeafInput,
} from '@ehr-anchor/core';
import { loadSyntheaBundles, phiTerms, scanBytes } from '@ehr-anchor/testkit';
import { getBytes, keccak256, toUtf8Bytes, type ContractTransactionReceipt } from 'ethers';
import type { Patient } from 'fhir/r4';
import { extraKey, send, setUpNetwork, startChain, type Chain } from './fixture.js';

describe('no PHI in calldata or events', () => {
  let chain: Chain;
  const receipts: ContractTransactionReceipt[] = [];
  before(async () => {
    chain = await startChain();
    await setUpNetwork(chain);
  });
  after(() => chain.stop());

  /** All bytes the chain holds from `receipts`: calldata of each transaction, and every registry event. */
  async function chainBytes(only?: ContractTransactionReceipt[]): Promise<Buffer> {
    const parts: Uint8Array[] = [];
    for (const r of only ?? receipts)
      parts.push(getBytes((await chain.provider.getTransaction(r.hash))!.data));
    const logs = await chain.provider.getLogs({
      address: chain.registryAddress,
      fromBlock: 0,
      toBlock: 'latest',
    });
    for (const log of logs) parts.push(getBytes(log.data), ...log.topics.map((t) => getBytes(t)));
    return Buffer.concat(parts);
  }

  it('finds no fixture patient’s name or identifier after directory, registration, consent and anchor flows', async () => {
    const { hospital, bridge, doctor, staff } = chain.actors;
    // The directory: names of staff and institutions, and a bridge endpoint (never patient data).
    receipts.push(
      await send(
        hospital.registry,
        'setEndpoint',
        'https://bridge.hospital-a.example/api',
        ALL_ENDPOINT_SERVICES,
      ),
      await send(hospital.registry, 'setDoctorName', doctor.address, 'Dr. Ada Doctor, cardiology'),
      await send(hospital.registry, 'setStaffName', staff.address, 'Sam Staff, records office'),
      await send(hospital.registry, 'setHospitalName', hospital.address, 'Hospital A (north site)'),
    );
    const pseudonymKey = new Uint8Array(32).fill(42);
    let patients = 0;
    let records = 0;
    for (const [index, bundle] of [...loadSyntheaBundles().values()].slice(0, 3).entries()) {
      const resources = bundle.entry!.map((e) => e.resource!).filter(Boolean);
      const patient = resources.find((r) => r.resourceType === 'Patient') as Patient;
      const subject = await pseudonym(patient.id!, pseudonymKey);
      const wallet = chain.actor(extraKey(`phi flow wallet ${index}`));
      receipts.push(await send(wallet.registry, 'requestRegistration', hospital.address, subject));
      receipts.push(await send(hospital.registry, 'approveRegistration', wallet.address));
      const scope = scopeMask(new Set(resources.map((r) => categoryOf(r.resourceType))));
      receipts.push(await send(wallet.registry, 'grantAccess', doctor.address, scope, NO_EXPIRY));
      const leaves: LeafInput[] = [];
      for (const r of resources) {
        const hash = await contentHash(r);
        leaves.push({
          subject,
          resourceType: r.resourceType,
          resourceId: r.id!,
          versionId: '1',
          contentHash: hash,
          payloadCid: await rawCid(getBytes(hash)),
          salt: randomSalt(),
        });
      }
      const tree = buildTree(leaves.map(leafHash));
      const manifestCid = await rawCid(toUtf8Bytes(JSON.stringify(leaves.map(leafHash))));
      receipts.push(await send(bridge.registry, 'anchor', tree.root, manifestCid, leaves.length));
      receipts.push(await send(wallet.registry, 'revokeAccess', doctor.address));
      patients += 1;
      records += leaves.length;
    }
    const bytes = await chainBytes();
    const hits = scanBytes(bytes);
    console.log(
      `no-PHI: ${patients} fixture patients, ${records} records, ${receipts.length} transactions, ${bytes.length} bytes of calldata and events scanned against ${phiTerms().length} terms: ${hits.length} hits`,
    );
    // Report where, never what: a failure message must not itself print patient data.
    assert.equal(hits.length, 0, `PHI found in chain bytes (forms: ${hits.map((h) => h.form).join(', ')})`);
  });

  it('does detect a fixture patient’s name put in calldata (scanner sanity check)', () =>
    chain.isolated(async () => {
      const bundle = [...loadSyntheaBundles().values()][0]!;
      const patient = bundle.entry!.find((e) => e.resource?.resourceType === 'Patient')!.resource as Patient;
      const name = [...(patient.name![0]!.given ?? []), patient.name![0]!.family].join(' ');
      // A misuse the contracts cannot forbid: a patient's name as a "hospital name".
      const leak = await send(
        chain.actors.admin.registry,
        'addHospital',
        chain.actor(extraKey('leaky')).address,
        chain.actor(extraKey('leaky bridge')).address,
        '0x01',
        name,
      );
      const hits = scanBytes(await chainBytes([leak]));
      assert.ok(
        hits.some((h) => h.term === name),
        `the scanner must find ${JSON.stringify('<the name>')} in calldata and events`,
      );
      // A pseudonym of the same patient is not findable.
      const subjectOnly = Buffer.from(getBytes(keccak256(toUtf8Bytes(patient.id!))));
      assert.equal(scanBytes(subjectOnly).length, 0);
    }));
});
