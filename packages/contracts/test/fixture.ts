/**
 * Shared set-up of the contract tests: a real anvil from the testkit, EhrRegistry deployed with the
 * package's own deploy function, and one signer per role of the authorization matrix.
 */
import { DEV_KEYS, startAnvil, type Anvil } from '@ehr-anchor/testkit';
import { ALL_SCOPES, NO_EXPIRY, describeContractError, ehrRegistryAbi } from '@ehr-anchor/contracts';
import { chainProvider, chainSigner, deployContracts, registryAt } from '@ehr-anchor/contracts/deploy';
import {
  Interface,
  Wallet,
  keccak256,
  toUtf8Bytes,
  type Contract,
  type ContractTransactionReceipt,
  type JsonRpcProvider,
  type NonceManager,
} from 'ethers';

export const ROLES = [
  'admin',
  'hospital',
  'otherHospital',
  'bridge',
  'otherBridge',
  'doctor',
  'otherDoctor',
  'staff',
  'patient',
  'otherPatient',
  'stranger',
] as const;
export type Role = (typeof ROLES)[number];

/** A deterministic key that is not one of anvil's funded dev keys. */
export const extraKey = (label: string) => keccak256(toUtf8Bytes(`ehr-anchor test key ${label}`));

const KEYS: Record<Role | 'visitor', string> = {
  admin: DEV_KEYS.admin,
  hospital: DEV_KEYS.hospitalA,
  otherHospital: DEV_KEYS.hospitalB,
  bridge: DEV_KEYS.bridgeA,
  otherBridge: DEV_KEYS.bridgeB,
  doctor: DEV_KEYS.doctorA,
  otherDoctor: DEV_KEYS.doctorB,
  staff: DEV_KEYS.healthWorker,
  patient: DEV_KEYS.patient,
  otherPatient: extraKey('otherPatient'),
  stranger: extraKey('stranger'),
  visitor: DEV_KEYS.visitor,
};

export interface Actor {
  readonly address: string;
  readonly signer: NonceManager;
  /** The registry connected to this actor's signer. */
  readonly registry: Contract;
}

export const registryInterface = new Interface(ehrRegistryAbi);

/** Pseudonymous subjects of the two patients and of the visitor's pending request (no real identifier). */
export const SUBJECTS = {
  patient: keccak256(toUtf8Bytes('subject of patient at hospital A')),
  otherPatient: keccak256(toUtf8Bytes('subject of otherPatient at hospital B')),
  visitor: keccak256(toUtf8Bytes('subject of visitor at hospital A')),
};

export interface Chain {
  anvil: Anvil;
  provider: JsonRpcProvider;
  registryAddress: string;
  /** The registry connected to the provider only (views). */
  reader: Contract;
  actors: Record<Role | 'visitor', Actor>;
  actor(key: string): Actor;
  /** Runs `fn` and rolls the chain back to where it was (anvil snapshot), resetting every nonce cache. */
  isolated<T>(fn: () => Promise<T>): Promise<T>;
  /** Latest block's timestamp (what `canRead` sees in an `eth_call` on `latest`). */
  now(): Promise<number>;
  /** Moves chain time forward and mines a block. */
  travel(seconds: number): Promise<void>;
  /** Stops anvil (call from `after`). */
  stop(): Promise<void>;
}

/** Starts anvil and deploys the registry; the caller stops it in `after`. */
export async function startChain(): Promise<Chain> {
  const anvil = await startAnvil();
  const provider = chainProvider(anvil.rpcUrl, 20);
  const deployment = await deployContracts({ rpcUrl: anvil.rpcUrl, adminKey: DEV_KEYS.admin });
  const registryAddress = deployment.addresses.ehrRegistry;
  const signers: NonceManager[] = [];
  const actor = (key: string): Actor => {
    const signer = chainSigner(key, provider);
    signers.push(signer);
    return { address: new Wallet(key).address, signer, registry: registryAt(registryAddress, signer) };
  };
  const actors = Object.fromEntries(
    Object.entries(KEYS).map(([role, key]) => [role, actor(key)]),
  ) as Chain['actors'];
  for (const a of Object.values(actors))
    await anvil.rpc('anvil_setBalance', [a.address, '0x56bc75e2d63100000']);
  return {
    anvil,
    provider,
    registryAddress,
    reader: registryAt(registryAddress, provider),
    actors,
    actor(key) {
      const a = actor(key);
      void anvil.rpc('anvil_setBalance', [a.address, '0x56bc75e2d63100000']);
      return a;
    },
    async isolated(fn) {
      const id = await anvil.rpc<string>('evm_snapshot');
      try {
        return await fn();
      } finally {
        await anvil.rpc('evm_revert', [id]);
        for (const s of signers) s.reset();
      }
    },
    async now() {
      return (await provider.getBlock('latest'))!.timestamp;
    },
    async travel(seconds) {
      await anvil.rpc('evm_increaseTime', [seconds]);
      await anvil.rpc('evm_mine');
    },
    async stop() {
      provider.destroy();
      await anvil.stop();
    },
  };
}

/** Sends a transaction and waits for it to be mined. */
export async function send(
  contract: Contract,
  fn: string,
  ...args: unknown[]
): Promise<ContractTransactionReceipt> {
  const tx = await contract.getFunction(fn)(...args);
  const receipt = (await tx.wait()) as ContractTransactionReceipt | null;
  if (!receipt || receipt.status !== 1) throw new Error(`${fn} failed`);
  return receipt;
}

export type Outcome =
  | { ok: true; receipt: ContractTransactionReceipt; events: string[] }
  | { ok: false; error: string; args: unknown[]; message: string };

/**
 * Sends a transaction and reports either its events or the custom error it reverted with, decoded by
 * the package's own `describeContractError` (so every refusal a test sees also has its sentence).
 */
export async function attempt(contract: Contract, fn: string, ...args: unknown[]): Promise<Outcome> {
  try {
    const receipt = await send(contract, fn, ...args);
    const events = receipt.logs.map((log) => registryInterface.parseLog(log)?.name ?? '?');
    return { ok: true, receipt, events };
  } catch (error) {
    const described = describeContractError(error);
    if (!described) throw error;
    return {
      ok: false,
      error: described.name,
      args: described.args.map((a) => (typeof a === 'string' ? a.toLowerCase() : a)),
      message: described.message,
    };
  }
}

/** Display names of the network's hospitals, doctors and staff (names of staff, never of patients). */
export const NAMES = {
  hospital: 'Hospital A',
  otherHospital: 'Hospital B',
  doctor: 'Dr. Ada Doctor',
  otherDoctor: 'Dr. Ben Other',
  staff: 'Sam Staff',
} as const;

/**
 * The network every test starts from: hospitals A (bridge A) and B (bridge B); doctor at A,
 * otherDoctor at B, staff (a health worker) at A; patient registered at A, otherPatient at B; patient
 * granted hospital A everything; the visitor has a pending request at A.
 */
export async function setUpNetwork(chain: Chain): Promise<void> {
  const { actors: a } = chain;
  const key = '0x' + '11'.repeat(32);
  await send(a.admin.registry, 'addHospital', a.hospital.address, a.bridge.address, key, NAMES.hospital);
  await send(
    a.admin.registry,
    'addHospital',
    a.otherHospital.address,
    a.otherBridge.address,
    key,
    NAMES.otherHospital,
  );
  await send(a.hospital.registry, 'addDoctor', a.doctor.address, NAMES.doctor);
  await send(a.otherHospital.registry, 'addDoctor', a.otherDoctor.address, NAMES.otherDoctor);
  await send(a.hospital.registry, 'addStaff', a.staff.address, NAMES.staff);
  await send(a.patient.registry, 'requestRegistration', a.hospital.address, SUBJECTS.patient);
  await send(a.hospital.registry, 'approveRegistration', a.patient.address);
  await send(a.otherPatient.registry, 'requestRegistration', a.otherHospital.address, SUBJECTS.otherPatient);
  await send(a.otherHospital.registry, 'approveRegistration', a.otherPatient.address);
  await send(a.patient.registry, 'grantAccess', a.hospital.address, ALL_SCOPES, NO_EXPIRY);
  await send(a.visitor.registry, 'requestRegistration', a.hospital.address, SUBJECTS.visitor);
}
