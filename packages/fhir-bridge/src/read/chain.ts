/**
 * What the read side asks the chain. Every answer is read at the latest block on each request
 * (the provider has no cache), so a revocation, an expiry or a removed doctor is refused on the
 * very next request — the bridge never trusts a role or a grant it saw earlier.
 */
import { ehrRegistryAbi } from '@ehr-anchor/contracts';
import { Contract, getAddress, id as keccakId, JsonRpcProvider, ZeroAddress, type EventLog } from 'ethers';
import type { SessionRoles } from '@ehr-anchor/core/api';

const NETWORK_ADMIN_ROLE = keccakId('NETWORK_ADMIN_ROLE');

export interface GrantEvent {
  kind: 'granted' | 'revoked';
  patient: string;
  grantee: string;
  scope: number;
  expiresAt: bigint;
  blockNumber: number;
  txHash: string;
  logIndex: number;
}

export class ChainReader {
  readonly registry: Contract;
  readonly provider: JsonRpcProvider;
  #ownProvider: boolean;

  constructor(
    rpcUrlOrProvider: string | JsonRpcProvider,
    readonly registryAddress: string,
    /** Block the registry was deployed in (start of event scans). */
    readonly fromBlock = 0,
  ) {
    this.#ownProvider = typeof rpcUrlOrProvider === 'string';
    this.provider =
      typeof rpcUrlOrProvider === 'string'
        ? new JsonRpcProvider(rpcUrlOrProvider, undefined, {
            pollingInterval: 200,
            cacheTimeout: -1,
            staticNetwork: true,
          })
        : rpcUrlOrProvider;
    this.registry = new Contract(registryAddress, ehrRegistryAbi, this.provider);
  }

  close(): void {
    if (this.#ownProvider) this.provider.destroy();
  }

  async chainId(): Promise<number> {
    return Number((await this.provider.getNetwork()).chainId);
  }

  /** May `reader` read `subject`'s records in every category of `scope`, at the latest block? */
  async canRead(reader: string, subject: string, scope: number): Promise<boolean> {
    return (await this.registry
      .getFunction('canRead')
      .staticCall(reader, subject, scope, { blockTag: 'latest' })) as boolean;
  }

  async patientOf(subject: string): Promise<string | null> {
    const wallet = (await this.registry.getFunction('patientOf').staticCall(subject)) as string;
    return wallet === ZeroAddress ? null : getAddress(wallet);
  }

  /** Subjects bound to `wallet`, oldest first (the registry's `subjectsOf`; bindings are never undone). */
  async subjectsOf(wallet: string): Promise<string[]> {
    const bindings = (await this.registry.getFunction('subjectsOf').staticCall(wallet)) as [string, string][];
    return bindings.map(([subject]) => subject.toLowerCase());
  }

  /**
   * The roles the chain gives `address` right now. `subjects: false` skips the event scan that
   * lists a patient's subjects (per-request checks ask `patientOf(subject)` directly instead).
   */
  async roles(
    address: string,
    options: { subjects?: boolean } = {},
  ): Promise<SessionRoles & { patient: boolean }> {
    const r = this.registry;
    const [admin, isHospital, doctorOf, isPatient] = await Promise.all([
      r.getFunction('hasRole').staticCall(NETWORK_ADMIN_ROLE, address) as Promise<boolean>,
      r.getFunction('isHospital').staticCall(address) as Promise<boolean>,
      r.getFunction('hospitalOfDoctor').staticCall(address) as Promise<string>,
      r.getFunction('isPatient').staticCall(address) as Promise<boolean>,
    ]);
    return {
      admin,
      hospital: isHospital ? (getAddress(address) as `0x${string}`) : null,
      doctorOf: doctorOf === ZeroAddress ? null : (getAddress(doctorOf) as `0x${string}`),
      subjects: (isPatient && options.subjects !== false
        ? await this.subjectsOf(address)
        : []) as `0x${string}`[],
      patient: isPatient,
    };
  }

  /** The hospital whose bridge signs with `signer` (zero address → null). */
  async hospitalOfSigner(signer: string): Promise<string | null> {
    const h = (await this.registry.getFunction('hospitalOfSigner').staticCall(signer)) as string;
    return h === ZeroAddress ? null : getAddress(h);
  }

  async anchorOf(root: string): Promise<{ hospital: string; timestamp: number; count: number } | null> {
    const [hospital, timestamp, count] = (await this.registry.getFunction('anchorOf').staticCall(root)) as [
      string,
      bigint,
      bigint,
    ];
    if (timestamp === 0n) return null;
    return { hospital: getAddress(hospital), timestamp: Number(timestamp), count: Number(count) };
  }

  async verifyLeaf(root: string, leaf: string, proof: readonly string[]): Promise<boolean> {
    return (await this.registry.getFunction('verifyLeaf').staticCall(root, leaf, proof)) as boolean;
  }

  /** The latest block's timestamp in ms: the clock grants expire by (anvil's may differ from the wall clock). */
  async now(): Promise<number> {
    const block = await this.provider.getBlock('latest');
    return (block?.timestamp ?? Math.floor(Date.now() / 1000)) * 1000;
  }

  async blockNumber(): Promise<number> {
    return this.provider.getBlockNumber();
  }

  /** AccessGranted / AccessRevoked events in [from, to], in chain order. */
  async grantEvents(from: number, to: number): Promise<GrantEvent[]> {
    const r = this.registry;
    const [granted, revoked] = (await Promise.all([
      r.queryFilter(r.filters.AccessGranted!(), from, to),
      r.queryFilter(r.filters.AccessRevoked!(), from, to),
    ])) as [EventLog[], EventLog[]];
    const out: GrantEvent[] = [
      ...granted.map((l) => ({
        kind: 'granted' as const,
        patient: getAddress(String(l.args[0])),
        grantee: getAddress(String(l.args[1])),
        scope: Number(l.args[2]),
        expiresAt: BigInt(l.args[3] as bigint),
        blockNumber: l.blockNumber,
        txHash: l.transactionHash,
        logIndex: l.index,
      })),
      ...revoked.map((l) => ({
        kind: 'revoked' as const,
        patient: getAddress(String(l.args[0])),
        grantee: getAddress(String(l.args[1])),
        scope: 0,
        expiresAt: 0n,
        blockNumber: l.blockNumber,
        txHash: l.transactionHash,
        logIndex: l.index,
      })),
    ];
    return out.sort((a, b) => a.blockNumber - b.blockNumber || a.logIndex - b.logIndex);
  }

  /** Display name of a hospital (public, from `hospitalInfo`). */
  async hospitalName(hospital: string): Promise<string | null> {
    const info = (await this.registry.getFunction('hospitalInfo').staticCall(hospital)) as [
      boolean,
      bigint,
      string,
      string,
      string,
    ];
    return info[0] ? info[4] : null;
  }
}
