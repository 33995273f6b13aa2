/**
 * Gas per record, measured side by side in one run on anvil (`npm run bench -w packages/contracts`):
 *
 * - baseline: the thesis' way, written fresh (contracts/bench/SeedRecords.sol) — each record's
 *   444-byte JSON string stored in a mapping, one transaction per record;
 * - one event per record (contracts/bench/EventRecords.sol), one transaction per record;
 * - EhrRegistry.anchor() of one Merkle root per batch of 1, 10, 100, 1,000 and 10,000 records, the
 *   roots built by @ehr-anchor/core from real record leaves.
 *
 * Gas is the receipt's gasUsed (intrinsic 21,000 + calldata + execution): deterministic, so the ratios
 * do not depend on the machine. Gas is free on the target network (Besu QBFT, gas price 0), so the
 * honest unit is block capacity: records per 30M-gas block (the QBFT genesis' block gas limit),
 * compared with one event per record — the fair per-record design. The storage row is a straw man
 * (nobody would store whole records in contract storage); it is kept only because the seed project
 * did it. Goal (kept from issue 2): anchor at batch 1,000 ≤ 0.05 % of the storage row's gas per record.
 *
 * A second table gives the gas of one typical call of every state-changing function of EhrRegistry
 * (dev names and keys of the size `npm start` uses), to compare contract versions.
 */
import { buildTree, leafHash, type Hex } from '@ehr-anchor/core';
import { DEV_KEYS, benchSummary, fmt as fmtN, startAnvil, table } from '@ehr-anchor/testkit';
import { ContractFactory, Wallet, keccak256, toUtf8Bytes, type BaseContract } from 'ethers';
import { chainProvider, chainSigner, deployContracts, registryAt } from '../src/deploy.js';
import {
  eventRecordsAbi,
  eventRecordsBytecode,
  seedRecordsAbi,
  seedRecordsBytecode,
} from '../src/generated/bench.js';

const RECORD_BYTES = 444;
const PER_RECORD_TXS = Number(process.env.BENCH_TXS ?? 20);
const BATCHES = [1, 10, 100, 1_000, 10_000];
const GOAL = 0.0005;
/** Block gas limit of the Besu QBFT genesis (packages/contracts/besu). */
const BLOCK_GAS = 30_000_000;

/** A synthetic 444-byte FHIR Observation as JSON (no patient data: the bench needs only the size). */
function record(i: number): string {
  const base = {
    resourceType: 'Observation',
    id: `bench-${i}`,
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
    subject: { reference: `Patient/bench-subject-${i % 7}` },
    effectiveDateTime: '2025-01-01T10:00:00Z',
    valueQuantity: { value: 60 + (i % 40), unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
    note: [{ text: '' }],
  };
  const short = Buffer.byteLength(JSON.stringify(base));
  base.note[0]!.text = 'x'.repeat(RECORD_BYTES - short);
  const json = JSON.stringify(base);
  if (Buffer.byteLength(json) !== RECORD_BYTES) throw new Error(`record is ${Buffer.byteLength(json)} bytes`);
  return json;
}

const bytes32 = (label: string) => keccak256(toUtf8Bytes(label)) as Hex;
const CID = 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy';

const anvil = await startAnvil();
const provider = chainProvider(anvil.rpcUrl, 20);
try {
  const admin = chainSigner(DEV_KEYS.admin, provider);
  const deploy = async (abi: readonly unknown[], bytecode: string): Promise<BaseContract> => {
    const c = await new ContractFactory(abi as never, bytecode, admin).deploy();
    await c.waitForDeployment();
    return c;
  };
  const gasOf = async (p: Promise<{ wait(): Promise<{ gasUsed: bigint } | null> }>) =>
    Number((await (await p).wait())!.gasUsed);

  const seed = await deploy(seedRecordsAbi, seedRecordsBytecode);
  let seedGas = 0;
  for (let i = 0; i < PER_RECORD_TXS; i++) seedGas += await gasOf(seed.getFunction('addRecord')(record(i)));

  const events = await deploy(eventRecordsAbi, eventRecordsBytecode);
  let eventGas = 0;
  for (let i = 0; i < PER_RECORD_TXS; i++)
    eventGas += await gasOf(events.getFunction('logRecord')(bytes32(`leaf ${i}`), CID));

  const deployment = await deployContracts({ rpcUrl: anvil.rpcUrl, adminKey: DEV_KEYS.admin });
  admin.reset(); // the deploy function signed with its own nonce manager
  const registry = registryAt(deployment.addresses.ehrRegistry, admin);
  const hospital = new Wallet(DEV_KEYS.hospitalA).address;
  const bridgeWallet = new Wallet(DEV_KEYS.bridgeA).address;
  await (
    await registry.getFunction('addHospital')(
      hospital,
      bridgeWallet,
      '0x' + '11'.repeat(32),
      'Bench Hospital',
    )
  ).wait();
  const bridge = registryAt(deployment.addresses.ehrRegistry, chainSigner(DEV_KEYS.bridgeA, provider));

  const rows: { method: string; records: number; gasPerTx: number; gasPerRecord: number }[] = [
    {
      method: 'straw man: JSON string in storage',
      records: 1,
      gasPerTx: seedGas / PER_RECORD_TXS,
      gasPerRecord: seedGas / PER_RECORD_TXS,
    },
    {
      method: 'one event per record',
      records: 1,
      gasPerTx: eventGas / PER_RECORD_TXS,
      gasPerRecord: eventGas / PER_RECORD_TXS,
    },
  ];
  for (const size of BATCHES) {
    const leaves = Array.from({ length: size }, (_, i) =>
      leafHash({
        subject: bytes32(`subject ${i % 50}`),
        resourceType: 'Observation',
        resourceId: `bench-${size}-${i}`,
        versionId: '1',
        contentHash: bytes32(`content ${size} ${i}`),
        payloadCid: CID,
        salt: bytes32(`salt ${size} ${i}`),
      }),
    );
    const { root } = buildTree(leaves);
    const gas = await gasOf(bridge.getFunction('anchor')(root, CID, size));
    rows.push({
      method: `anchor(), batch of ${size.toLocaleString('en-US')}`,
      records: size,
      gasPerTx: gas,
      gasPerRecord: gas / size,
    });
  }

  const baseline = rows[0]!.gasPerRecord;
  const perEvent = rows[1]!.gasPerRecord;
  /** Records that fit in one block: whole transactions per block × records per transaction. */
  const perBlock = (r: (typeof rows)[number]) => Math.floor(BLOCK_GAS / r.gasPerTx) * r.records;
  const fmt = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2));
  console.log(
    `\nGas per record on anvil (cancun, solc optimizer 200), ${RECORD_BYTES}-byte records, per-record methods averaged over ${PER_RECORD_TXS} txs; block capacity at ${fmtN(BLOCK_GAS)} gas per block\n`,
  );
  console.log(
    table(
      [
        'method',
        'records/tx',
        'gas per tx',
        'gas per record',
        'records per 30M-gas block',
        '× one event per record',
        '% of storage (straw man)',
      ],
      rows.map((r) => [
        r.method,
        r.records.toLocaleString('en-US'),
        fmt(r.gasPerTx),
        fmt(r.gasPerRecord),
        fmtN(perBlock(r)),
        `${fmtN(perEvent / r.gasPerRecord, perEvent / r.gasPerRecord >= 10 ? 0 : 2)}×`,
        `${((100 * r.gasPerRecord) / baseline).toFixed(4)} %`,
      ]),
    ),
  );
  const byRecords = (n: number) => rows.find((r) => r.method.startsWith('anchor') && r.records === n)!;
  benchSummary([
    {
      area: 'gas',
      what: 'records per 30M-gas block',
      figure: `anchor() batches of 1,000: ${fmtN(perBlock(byRecords(1_000)))}; of 10,000: ${fmtN(perBlock(byRecords(10_000)))}; one event per record: ${fmtN(perBlock(rows[1]!))}; storage: ${fmtN(perBlock(rows[0]!))}`,
      against: `batch of 1,000 = ${fmtN(perEvent / byRecords(1_000).gasPerRecord)}× the event-per-record design per block`,
    },
  ]);
  const at1000 = rows.find((r) => r.records === 1_000)!;
  const ratio = at1000.gasPerRecord / baseline;
  console.log(
    `\ngoal: anchor() at batch 1,000 ≤ ${(GOAL * 100).toFixed(2)} % of baseline gas per record → ${(ratio * 100).toFixed(4)} % (${ratio <= GOAL ? 'met' : 'NOT met'}); ` +
      `storage / anchor@1,000 = ${Math.round(baseline / at1000.gasPerRecord).toLocaleString('en-US')}×; ` +
      `the fair comparison, one event per record / anchor@1,000 = ${Math.round(perEvent / at1000.gasPerRecord).toLocaleString('en-US')}×; ` +
      `at 2-second blocks a 30M-gas block takes ${fmtN(perBlock(at1000) / 2)} records/s in batches of 1,000, ${fmtN(perBlock(rows[1]!) / 2)}/s as events, ${fmtN(perBlock(rows[2]!) / 2)}/s as one anchor per record`,
  );
  if (ratio > GOAL) process.exitCode = 1;

  // ── gas of one typical call of each state-changing function, on a fresh registry ──
  const fresh = await deployContracts({ rpcUrl: anvil.rpcUrl, adminKey: DEV_KEYS.admin });
  const at = (key: string) => registryAt(fresh.addresses.ehrRegistry, chainSigner(key, provider));
  const address = (key: string) => new Wallet(key).address;
  const calls: [string, number][] = [];
  const measure = async (label: string, contract: ReturnType<typeof at>, fn: string, ...args: unknown[]) =>
    calls.push([label, await gasOf(contract.getFunction(fn)(...args))]);
  const asAdmin = at(DEV_KEYS.admin);
  const asA = at(DEV_KEYS.hospitalA);
  const asPatient = at(DEV_KEYS.patient);
  const wrappingKey = '0x' + '11'.repeat(32);
  const rotated = keccak256(toUtf8Bytes('rotated bridge signer'));
  // prettier-ignore
  {
    await measure('addHospital (first)', asAdmin, 'addHospital', address(DEV_KEYS.hospitalA), address(DEV_KEYS.bridgeA), wrappingKey, 'Dev Hospital A');
    await measure('addHospital (second)', asAdmin, 'addHospital', address(DEV_KEYS.hospitalB), address(DEV_KEYS.bridgeB), wrappingKey, 'Dev Hospital B');
    await measure('setHospitalName', asA, 'setHospitalName', address(DEV_KEYS.hospitalA), 'Dev Hospital A (north)');
    await measure('setEndpoint', asA, 'setEndpoint', 'https://bridge.hospital-a.example/api', 0xff);
    await measure('addDoctor', asA, 'addDoctor', address(DEV_KEYS.doctorA), 'Dr. Ada Okafor');
    await measure('setDoctorName', asA, 'setDoctorName', address(DEV_KEYS.doctorA), 'Dr. Ada Okafor-Smith');
    await measure('addStaff', asA, 'addStaff', address(DEV_KEYS.healthWorker), 'Sam Rivera');
    await measure('setStaffName', asA, 'setStaffName', address(DEV_KEYS.healthWorker), 'Sam Rivera-Jones');
    await measure('requestRegistration', asPatient, 'requestRegistration', address(DEV_KEYS.hospitalA), bytes32('subject A'));
    await measure('approveRegistration (first subject)', asA, 'approveRegistration', address(DEV_KEYS.patient));
    await measure('requestRegistration (at B)', asPatient, 'requestRegistration', address(DEV_KEYS.hospitalB), bytes32('subject B'));
    await measure('approveRegistration (second subject)', at(DEV_KEYS.hospitalB), 'approveRegistration', address(DEV_KEYS.patient));
    await (await at(DEV_KEYS.visitor).getFunction('requestRegistration')(address(DEV_KEYS.hospitalA), bytes32('visitor'))).wait();
    await measure('rejectRegistration', asA, 'rejectRegistration', address(DEV_KEYS.visitor));
    await measure('grantAccess (to a hospital)', asPatient, 'grantAccess', address(DEV_KEYS.hospitalA), 1, 2n ** 40n);
    await measure('grantAccess (to a doctor)', asPatient, 'grantAccess', address(DEV_KEYS.doctorA), 1, 2n ** 40n);
    await measure('revokeAccess', asPatient, 'revokeAccess', address(DEV_KEYS.doctorA));
    await measure('setKeyWrappingKey', asA, 'setKeyWrappingKey', '0x' + '22'.repeat(32));
    await measure('setBridgeSigner', asA, 'setBridgeSigner', address(rotated));
    await measure('anchor (batch of 1,000)', at(rotated), 'anchor', bytes32('root'), CID, 1000);
    await measure('removeDoctor', asA, 'removeDoctor', address(DEV_KEYS.doctorA));
    await measure('removeStaff', asA, 'removeStaff', address(DEV_KEYS.healthWorker));
    await measure('removeHospital', asAdmin, 'removeHospital', address(DEV_KEYS.hospitalB));
  }
  const labelWidth = Math.max(...calls.map(([l]) => l.length));
  console.log(`
Gas of one call of each state-changing function (receipt gasUsed)
`);
  console.log(`| ${'call'.padEnd(labelWidth)} |     gas |`);
  console.log(`|${'-'.repeat(labelWidth + 2)}|--------:|`);
  for (const [label, gas] of calls)
    console.log(`| ${label.padEnd(labelWidth)} | ${gas.toLocaleString('en-US').padStart(7)} |`);
} finally {
  provider.destroy();
  await anvil.stop();
}
