/**
 * A small private IPFS network for tests and the dev stack: N Kubo nodes on loopback that know
 * each other (`Peering.Peers`, reconnected after restarts) and nobody else (a swarm key generated
 * per run: libp2p's private network, so a stray IPFS node cannot join).
 *
 * Replication is not done here: IPFS Cluster (`ipfs-cluster-service`) cannot be built on this
 * machine (the Go module proxy answers 403 for github.com/ipfs-cluster/ipfs-cluster), so the
 * bridge pins each root on its own node and on peers through Kubo's pinning API (see the bridge's
 * src/pipeline/replication.ts). What this module provides is the network that makes that work: a
 * `pin add` on one node fetches the blocks from another over bitswap.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initKuboRepo, startKubo, type Kubo } from './kubo.js';
import { freePort } from './ports.js';
import { waitFor } from './wait.js';

export interface ClusterOptions {
  /** Number of Kubo nodes (default 2). */
  nodes?: number;
  /** Repositories to keep (one per node; created when absent); default: temp dirs removed on stop. */
  repoPaths?: string[];
  /** The network's key (64 hex); default: a fresh random one for this run. */
  swarmKey?: string;
  /** Fixed ports per node (default: free ports chosen now). */
  apiPorts?: number[];
  gatewayPorts?: number[];
  swarmPorts?: number[];
}

export interface KuboCluster {
  /** The running nodes, in order (a restarted node replaces its entry). */
  readonly nodes: readonly Kubo[];
  /** The pre-shared key of this network (hex). */
  readonly swarmKey: string;
  /** `kill -9` node `i`: no clean shutdown; its repository stays for `restart`. */
  kill(i: number): Promise<void>;
  /** Starts node `i` again on the same repository and ports; resolves once it is back in the network. */
  restart(i: number): Promise<Kubo>;
  /** Resolves once every running node is connected to every other running node. */
  connected(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** Peer ids a node is connected to (`swarm peers`). */
async function swarmPeers(apiUrl: string): Promise<Set<string>> {
  const res = await fetch(`${apiUrl}/api/v0/swarm/peers`, { method: 'POST' });
  if (!res.ok) throw new Error(`swarm/peers answered ${res.status}`);
  const { Peers } = (await res.json()) as { Peers: { Peer: string }[] | null };
  return new Set((Peers ?? []).map((p) => p.Peer));
}

/** Starts `nodes` Kubo daemons that form one private IPFS network on loopback. */
export async function startCluster(options: ClusterOptions = {}): Promise<KuboCluster> {
  const count = options.nodes ?? options.repoPaths?.length ?? 2;
  if (count < 1) throw new Error('a cluster needs at least one node');
  const temporary = options.repoPaths === undefined;
  const repoPaths =
    options.repoPaths ??
    (await Promise.all(Array.from({ length: count }, () => mkdtemp(join(tmpdir(), 'ehr-kubo-')))));
  const swarmKey = options.swarmKey ?? randomBytes(32).toString('hex');
  if (!/^[0-9a-f]{64}$/i.test(swarmKey)) throw new Error('swarmKey must be 64 hex characters');
  const ids = await Promise.all(repoPaths.map((p) => initKuboRepo(p)));
  const swarmPorts = options.swarmPorts ?? (await Promise.all(ids.map(() => freePort())));
  const apiPorts = [...(options.apiPorts ?? ids.map(() => 0))];
  const gatewayPorts = [...(options.gatewayPorts ?? ids.map(() => 0))];
  const peersOf = (i: number) =>
    ids.flatMap((id, j) => (j === i ? [] : [{ id, addrs: [`/ip4/127.0.0.1/tcp/${swarmPorts[j]}`] }]));
  const start = (i: number) =>
    startKubo({
      repoPath: repoPaths[i],
      apiPort: apiPorts[i],
      gatewayPort: gatewayPorts[i],
      network: { swarmKey, swarmPort: swarmPorts[i]!, peers: peersOf(i) },
    });
  const nodes: (Kubo | undefined)[] = [];
  const removeRepos = async () => {
    if (temporary) await Promise.all(repoPaths.map((p) => rm(p, { recursive: true, force: true })));
  };
  try {
    nodes.push(...(await Promise.all(ids.map((_, i) => start(i)))));
  } catch (error) {
    await Promise.all(nodes.map((n) => n?.process.stop()));
    await removeRepos();
    throw error;
  }
  // A restart must come back on the same API and gateway ports: whoever uses the node keeps its URLs.
  nodes.forEach((n, i) => {
    apiPorts[i] = Number(new URL(n!.apiUrl).port);
    gatewayPorts[i] = Number(new URL(n!.gatewayUrl).port);
  });
  const running = () =>
    nodes.flatMap((n) => (n && n.process.child.exitCode === null && !n.process.child.signalCode ? [n] : []));
  const cluster: KuboCluster = {
    get nodes() {
      return nodes as Kubo[];
    },
    swarmKey,
    async kill(i) {
      const node = nodes[i];
      if (!node) throw new Error(`no node ${i}`);
      try {
        process.kill(-node.process.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      await node.process.stop();
    },
    async restart(i) {
      const old = nodes[i];
      if (old) await old.process.stop();
      nodes[i] = await start(i);
      await cluster.connected();
      return nodes[i];
    },
    async connected(timeoutMs = 30_000) {
      await waitFor(
        async () => {
          const live = running();
          for (const node of live) {
            const peers = await swarmPeers(node.apiUrl);
            if (live.some((other) => other !== node && !peers.has(other.peerId))) return false;
          }
          return true;
        },
        { what: 'the Kubo nodes to connect to each other', timeoutMs },
      );
    },
    async stop() {
      await Promise.all(nodes.map((n) => n?.process.stop()));
      await removeRepos();
    },
  };
  try {
    await cluster.connected();
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}
