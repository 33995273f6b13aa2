/**
 * What the read side asks the chain. Every answer is read at the latest block on each request, so
 * a revocation, an expiry or a removed doctor is refused on the very next request — the bridge
 * never trusts a role or a grant it saw earlier.
 *
 * Per-block cache (on by default, `read.consentCache`): a request first learns the latest block
 * number, then reads every answer *at that block* (`eth_call` with that block tag), memoized by
 * (block, question). State at a given block never changes (QBFT blocks are final), so a cached answer
 * is exactly what the chain says at that block; a new block starts a new cache. The block number
 * itself is never reused across requests: a request only shares a `eth_blockNumber` call that
 * started after the request arrived, so once a revoke's block is mined, every request that arrives
 * afterwards reads at that block or later. One cheap call per request (shared by requests arriving
 * together) replaces five to seven `eth_call`s.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
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

/** The request being served: when it arrived (performance.now()) and the block it reads at. */
const requestScope = new AsyncLocalStorage<{ since: number }>();

/**
 * Runs `fn` (the rest of a request's life: a Fastify `onRequest` hook's `done`) as one request of
 * the read side: every chain answer is read at a block at least as new as the newest at its arrival.
 */
export function inRequestScope(fn: () => void): void {
  requestScope.run({ since: performance.now() }, fn);
}

/** How many answers one block's cache holds at most (a flood of distinct questions cannot grow memory). */
const MAX_CACHED = 50_000;

export class ChainReader {
  readonly registry: Contract;
  readonly provider: JsonRpcProvider;
  #ownProvider: boolean;
  /** The `eth_blockNumber` call in flight and when it was started (performance.now()). */
  #head: { started: number; block: Promise<number> } | null = null;
  #cacheBlock = -1;
  #cache = new Map<string, Promise<unknown>>();

  constructor(
    rpcUrlOrProvider: string | JsonRpcProvider,
    readonly registryAddress: string,
    /** Block the registry was deployed in (start of event scans). */
    readonly fromBlock = 0,
    /** Read each answer at the latest block number and memoize it per block (see above). */
    readonly cachePerBlock = true,
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

  /**
   * The latest block number, as of a moment after the current request arrived: an `eth_blockNumber`
   * call in flight is shared only by requests (see {@link inRequestScope}) that arrived before it
   * started; otherwise a new call. No block number is kept once its call answered — not even for
   * the rest of one request: work a request starts in the background (timers, pipelines) inherits
   * its scope and must not read at that request's block forever.
   */
  latestBlock(): Promise<number> {
    const scope = requestScope.getStore();
    const head = this.#head;
    return scope && head && head.started > scope.since ? head.block : this.#startHeadCall();
  }

  #startHeadCall(): Promise<number> {
    const entry = { started: performance.now(), block: this.provider.getBlockNumber() };
    this.#head = entry;
    const clear = () => {
      if (this.#head === entry) this.#head = null;
    };
    entry.block.then(clear, clear);
    return entry.block;
  }

  /**
   * `fn` of the registry at the latest block: memoized per (block, question) with the cache on,
   * else an uncached call at 'latest'.
   */
  async #at<T>(fn: string, args: unknown[]): Promise<T> {
    const call = this.registry.getFunction(fn);
    if (!this.cachePerBlock) return (await call.staticCall(...args, { blockTag: 'latest' })) as T;
    const block = await this.latestBlock();
    if (block !== this.#cacheBlock) {
      if (block < this.#cacheBlock) return (await call.staticCall(...args, { blockTag: block })) as T;
      this.#cacheBlock = block;
      this.#cache = new Map();
    }
    const key = `${fn}|${args.map(String).join('|').toLowerCase()}`;
    let answer = this.#cache.get(key);
    if (!answer) {
      answer = call.staticCall(...args, { blockTag: block });
      if (this.#cache.size >= MAX_CACHED) this.#cache.clear();
      this.#cache.set(key, answer);
      // A failed call is not an answer: the next request asks again.
      answer.catch(() => {
        if (this.#cache.get(key) === answer) this.#cache.delete(key);
      });
    }
    return (await answer) as T;
  }

  async chainId(): Promise<number> {
    return Number((await this.provider.getNetwork()).chainId);
  }

  /** May `reader` read `subject`'s records in every category of `scope`, at the latest block? */
  async canRead(reader: string, subject: string, scope: number): Promise<boolean> {
    return this.#at<boolean>('canRead', [reader, subject, scope]);
  }

  async patientOf(subject: string): Promise<string | null> {
    const wallet = await this.#at<string>('patientOf', [subject]);
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
    const [admin, isHospital, doctorOf, isPatient] = await Promise.all([
      this.#at<boolean>('hasRole', [NETWORK_ADMIN_ROLE, address]),
      this.#at<boolean>('isHospital', [address]),
      this.#at<string>('hospitalOfDoctor', [address]),
      this.#at<boolean>('isPatient', [address]),
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
    const h = await this.#at<string>('hospitalOfSigner', [signer]);
    return h === ZeroAddress ? null : getAddress(h);
  }

  async anchorOf(root: string): Promise<{ hospital: string; timestamp: number; count: number } | null> {
    const [hospital, timestamp, count] = await this.#at<[string, bigint, bigint]>('anchorOf', [root]);
    if (timestamp === 0n) return null;
    return { hospital: getAddress(hospital), timestamp: Number(timestamp), count: Number(count) };
  }

  async verifyLeaf(root: string, leaf: string, proof: readonly string[]): Promise<boolean> {
    return this.#at<boolean>('verifyLeaf', [root, leaf, proof]);
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
