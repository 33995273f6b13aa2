/**
 * Replication of the bridge's IPFS content across the hospitals' Kubo nodes, with Kubo's own
 * pinning API (IPFS Cluster cannot be built here: the Go module proxy refuses
 * github.com/ipfs-cluster/ipfs-cluster with 403 Forbidden).
 *
 * Every root this bridge pins (a chunk's import root, a batch manifest, a document's content) is
 * pinned on its own node and on `factor - 1` peer nodes, chosen per CID by rendezvous hashing so
 * roots spread evenly and the same CID always prefers the same peers. A peer fetches the blocks
 * over bitswap from whichever node of the network has them (the nodes form one private network,
 * see testkit's `startCluster`). Pins on peers carry the bridge's pin name (`pinName`), which is
 * how a bridge recognises its own roots on nodes it shares with other hospitals.
 *
 * Two paths keep the count:
 * - `replicate(cid)` right after a root is stored locally (in the background: the write path does
 *   not wait for peers, and a peer that is down does not stop anchoring);
 * - `sweep()` every `sweepIntervalMs` and at start: lists the pins of every node and re-pins
 *   whatever has fewer than `factor` copies — roots of this bridge held by no other node are copied
 *   to peers, and roots a peer holds under this bridge's name that the own node lost (a node
 *   restored empty) are pinned back on it. The own node's pin set plus the named pins on peers are
 *   the durable state: nothing to lose in a bridge crash.
 *
 * Erasure (`exclusive`) runs with the sweep paused, on every node, after checking every peer
 * answers, so no sweep can copy back what an erasure is removing.
 */
import { createHash } from 'node:crypto';

/** The empty UnixFS directory `ipfs init` pins: never ours to replicate. */
const EMPTY_DIR = 'QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn';

export interface ReplicationLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface ReplicationOptions {
  /** The bridge's own Kubo RPC URL. */
  localUrl: string;
  /** Kubo RPC URLs of the peer nodes this bridge may pin replicas on. */
  peers: string[];
  /** Copies wanted of each root, the own node included (≤ 1 + peers). */
  factor: number;
  /** Pin name marking this bridge's roots on every node. */
  pinName: string;
  /** How often the sweep runs (0: only at start and when called). */
  sweepIntervalMs: number;
  /** Longest one `pin add` may take (it fetches the whole DAG from the network). */
  pinTimeoutMs: number;
  log: ReplicationLog;
}

export interface SweepReport {
  /** Roots of this bridge found on the nodes. */
  roots: number;
  /** Pins added by this sweep. */
  repinned: number;
  /** Roots still below the factor afterwards (nodes down, or too few nodes). */
  underReplicated: number;
  /** Nodes that did not answer (`local` for the own node). */
  unreachable: string[];
  /** Copies per root: how many roots have 1, 2, … copies after the sweep. */
  copies: Record<number, number>;
  ms: number;
}

export class ReplicationError extends Error {
  constructor(
    message: string,
    readonly unreachable: string[],
  ) {
    super(message);
    this.name = 'ReplicationError';
  }
}

async function rpc(baseUrl: string, path: string, timeoutMs: number): Promise<Response> {
  const res = await fetch(`${baseUrl.replace(/\/$/, '')}/api/v0/${path}`, {
    method: 'POST',
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!res.ok) {
    const text = await res.text().catch(() => '');
    let message = text;
    try {
      message = (JSON.parse(text) as { Message?: string }).Message ?? text;
    } catch {
      // not JSON
    }
    throw new Error(`Kubo ${path.split('?')[0]} answered ${res.status}: ${message.slice(0, 200)}`);
  }
  return res;
}

/** Recursive pins of a node: CID → pin name (`''` when unnamed). */
export async function recursivePins(baseUrl: string, timeoutMs = 30_000): Promise<Map<string, string>> {
  const res = await rpc(baseUrl, 'pin/ls?type=recursive&names=true', timeoutMs);
  const { Keys } = (await res.json()) as { Keys?: Record<string, { Name?: string }> };
  return new Map(Object.entries(Keys ?? {}).map(([cid, v]) => [cid, v.Name ?? '']));
}

/** `pin add` (recursive, named): the node fetches every block it lacks from the network. */
export async function pinAdd(baseUrl: string, cid: string, name: string, timeoutMs: number): Promise<void> {
  await (
    await rpc(
      baseUrl,
      `pin/add?arg=${encodeURIComponent(cid)}&recursive=true&name=${encodeURIComponent(name)}`,
      timeoutMs,
    )
  ).arrayBuffer();
}

/** Peers in rendezvous (highest random weight) order for a CID. */
export function placement(cid: string, peers: string[]): string[] {
  const weight = (peer: string) => createHash('sha256').update(peer).update('\0').update(cid).digest('hex');
  return peers
    .map((p) => ({ p, w: weight(p) }))
    .sort((a, b) => (a.w < b.w ? 1 : a.w > b.w ? -1 : 0))
    .map((x) => x.p);
}

export class Replicator {
  readonly #o: ReplicationOptions;
  /** Serialises replicate, sweep and exclusive sections. */
  #tail: Promise<unknown> = Promise.resolve();
  #timer: ReturnType<typeof setInterval> | undefined;
  #pending = 0;
  #closed = false;
  lastSweep: SweepReport | undefined;

  constructor(options: ReplicationOptions) {
    if (options.factor > 1 + options.peers.length)
      throw new Error(`replication ${options.factor} needs at least ${options.factor - 1} peer nodes`);
    this.#o = options;
  }

  get factor(): number {
    return this.#o.factor;
  }

  get peers(): readonly string[] {
    return this.#o.peers;
  }

  /** Roots waiting for their peer copies. */
  get pending(): number {
    return this.#pending;
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(fn, fn);
    this.#tail = run.catch(() => undefined);
    return run;
  }

  /**
   * Pins `cid` (already pinned on the own node) on `factor - 1` peers, in the background; a
   * shortfall is logged and left to the next sweep. Resolves with the number of copies.
   */
  replicate(cid: string): Promise<number> {
    if (this.#o.factor <= 1 || this.#closed) return Promise.resolve(1);
    this.#pending++;
    return this.#serial(async () => {
      try {
        let copies = 1;
        for (const peer of placement(cid, this.#o.peers)) {
          if (copies >= this.#o.factor) break;
          try {
            await pinAdd(peer, cid, this.#o.pinName, this.#o.pinTimeoutMs);
            copies++;
          } catch (error) {
            this.#o.log.warn({ peer, err: { message: (error as Error).message } }, 'replica pin failed');
          }
        }
        if (copies < this.#o.factor)
          this.#o.log.warn({ copies, factor: this.#o.factor }, 'root under-replicated; the sweep retries');
        return copies;
      } finally {
        this.#pending--;
      }
    });
  }

  /** Lists every node's pins and re-pins this bridge's roots that have fewer than `factor` copies. */
  sweep(): Promise<SweepReport> {
    return this.#serial(() => this.#sweep());
  }

  async #sweep(): Promise<SweepReport> {
    const t0 = performance.now();
    const { localUrl, peers, pinName, factor } = this.#o;
    const nodes = [localUrl, ...peers];
    const pins = await Promise.all(nodes.map((url) => recursivePins(url).catch(() => undefined)));
    const unreachable = nodes.filter((_, i) => !pins[i]).map((url) => (url === localUrl ? 'local' : url));
    const own = new Set<string>();
    pins.forEach((set, i) => {
      for (const [cid, name] of set ?? []) {
        if (name === pinName || (i === 0 && name === '' && cid !== EMPTY_DIR)) own.add(cid);
      }
    });
    let repinned = 0;
    let underReplicated = 0;
    const copies: Record<number, number> = {};
    for (const cid of own) {
      const holders = new Set(nodes.filter((_, i) => pins[i]?.has(cid)));
      if (holders.size < factor) {
        // The own node first (it serves the bridge's reads), then peers in placement order.
        const candidates = [localUrl, ...placement(cid, peers)].filter(
          (url) => !holders.has(url) && pins[nodes.indexOf(url)] !== undefined,
        );
        for (const url of candidates) {
          if (holders.size >= factor) break;
          try {
            await pinAdd(url, cid, pinName, this.#o.pinTimeoutMs);
            holders.add(url);
            repinned++;
          } catch (error) {
            this.#o.log.warn({ node: url, err: { message: (error as Error).message } }, 'sweep: pin failed');
          }
        }
      }
      if (holders.size < factor) underReplicated++;
      copies[holders.size] = (copies[holders.size] ?? 0) + 1;
    }
    const report: SweepReport = {
      roots: own.size,
      repinned,
      underReplicated,
      unreachable,
      copies,
      ms: Math.round(performance.now() - t0),
    };
    this.lastSweep = report;
    if (repinned > 0 || underReplicated > 0 || unreachable.length > 0)
      this.#o.log.info({ ...report }, 'replication sweep');
    return report;
  }

  /**
   * Runs `fn` with replication paused, once every node (own first) has answered: a removal must
   * reach every copy, or nothing may happen (ReplicationError naming the silent nodes).
   */
  exclusive<T>(fn: (nodes: { url: string; pinName: string }[]) => Promise<T>): Promise<T> {
    return this.#serial(async () => {
      const nodes = [this.#o.localUrl, ...this.#o.peers];
      const answers = await Promise.all(
        nodes.map((url) =>
          rpc(url, 'id', 5_000)
            .then((r) => r.arrayBuffer())
            .then(
              () => true,
              () => false,
            ),
        ),
      );
      const down = nodes.filter((_, i) => !answers[i]);
      if (down.length > 0)
        throw new ReplicationError(`${down.length} IPFS node(s) holding copies did not answer`, down);
      return fn(nodes.map((url) => ({ url, pinName: this.#o.pinName })));
    });
  }

  /** Sweeps now and then every `sweepIntervalMs`. */
  start(): void {
    if (this.#o.factor <= 1 || this.#timer) return;
    const tick = () =>
      void this.sweep().catch((error: unknown) =>
        this.#o.log.warn({ err: { message: (error as Error).message } }, 'replication sweep failed'),
      );
    tick();
    if (this.#o.sweepIntervalMs > 0) {
      this.#timer = setInterval(tick, this.#o.sweepIntervalMs);
      this.#timer.unref();
    }
  }

  /** Stops the timer and waits for what is in flight. */
  async stop(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#tail;
  }
}
