import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startProcess, type ManagedProcess } from './processes.js';
import { toolPath } from './tools.js';
import { waitFor } from './wait.js';

const run = promisify(execFile);

/** A peer this node keeps a connection to (Kubo's `Peering.Peers`). */
export interface KuboPeer {
  /** libp2p peer id (`12D3KooW…`). */
  id: string;
  /** Its swarm multiaddrs, e.g. `/ip4/127.0.0.1/tcp/4001`. */
  addrs: string[];
}

/**
 * Joins the node to a private IPFS network instead of running it offline: it listens for peers on
 * loopback and connects only to nodes holding the same swarm key (libp2p private network, PSK).
 */
export interface KuboNetworkOptions {
  /** 64 hex characters: the network's pre-shared key (written to `$IPFS_PATH/swarm.key`, mode 0600). */
  swarmKey: string;
  /** Swarm port on 127.0.0.1 (peers must know it in advance: pick one with `freePort`). */
  swarmPort: number;
  /** The other members, kept connected (reconnected after a restart). */
  peers?: KuboPeer[];
}

export interface KuboOptions {
  /** Keep the repository here (created with the test profile if absent); default: a fresh temp dir removed on stop. */
  repoPath?: string;
  /** API port; 0 (the default) lets the OS choose. */
  apiPort?: number;
  /** Gateway port; 0 (the default) lets the OS choose. */
  gatewayPort?: number;
  /** Member of a private network of Kubo nodes; default: offline. */
  network?: KuboNetworkOptions;
}

export interface Kubo {
  /** Kubo RPC API base URL, e.g. `http://127.0.0.1:5001` (kubo-rpc-client's `url`). */
  readonly apiUrl: string;
  /** Read-only HTTP gateway base URL. */
  readonly gatewayUrl: string;
  readonly repoPath: string;
  /** This node's libp2p identity. */
  readonly peerId: string;
  /** Swarm multiaddr on loopback (network members only). */
  readonly swarmAddr?: string;
  readonly process: ManagedProcess;
  /** Runs the `ipfs` CLI against this repository (e.g. `['add', '--cid-version=1', path]`). */
  cli(args: string[]): Promise<string>;
  stop(): Promise<void>;
}

/** Environment of every `ipfs` command: telemetry off (Kubo ≥ 0.38 would otherwise report usage). */
function kuboEnv(repoPath: string): NodeJS.ProcessEnv {
  return { ...process.env, IPFS_PATH: repoPath, IPFS_TELEMETRY: 'off' };
}

/** `ipfs init --profile=test` when `repoPath` holds no repository yet; returns the peer id. */
export async function initKuboRepo(repoPath: string): Promise<string> {
  const env = kuboEnv(repoPath);
  const ipfs = toolPath('ipfs');
  if (!existsSync(join(repoPath, 'config'))) await run(ipfs, ['init', '--profile=test'], { env });
  return (await run(ipfs, ['config', 'Identity.PeerID'], { env })).stdout.trim();
}

/**
 * Starts a Kubo daemon on loopback with `ipfs init --profile=test` (no bootstrap peers, no mDNS,
 * random identity), API and gateway on OS-chosen ports. Without `network` it runs offline so it
 * never dials out; with it, it joins a private network (swarm key) on loopback whose members it
 * finds only through `network.peers`: no DHT, no relays, no AutoTLS, no telemetry.
 */
export async function startKubo(options: KuboOptions = {}): Promise<Kubo> {
  const ipfs = toolPath('ipfs');
  const temporary = options.repoPath === undefined;
  const repoPath = options.repoPath ?? (await mkdtemp(join(tmpdir(), 'ehr-kubo-')));
  const env = kuboEnv(repoPath);
  const cli = async (args: string[]) => (await run(ipfs, args, { env, maxBuffer: 64 << 20 })).stdout;
  const peerId = await initKuboRepo(repoPath);
  const net = options.network;
  const settings: [string, string][] = [
    ['Addresses.API', JSON.stringify(`/ip4/127.0.0.1/tcp/${options.apiPort ?? 0}`)],
    ['Addresses.Gateway', JSON.stringify(`/ip4/127.0.0.1/tcp/${options.gatewayPort ?? 0}`)],
    ['Addresses.Swarm', JSON.stringify(net ? [`/ip4/127.0.0.1/tcp/${net.swarmPort}`] : [])],
    ['Plugins.Plugins', JSON.stringify({ telemetry: { Config: { Mode: 'off' } } })],
  ];
  if (net) {
    settings.push(
      ['Routing.Type', '"none"'],
      ['Peering.Peers', JSON.stringify((net.peers ?? []).map((p) => ({ ID: p.id, Addrs: p.addrs })))],
      ['Swarm.RelayClient.Enabled', 'false'],
      ['Swarm.RelayService.Enabled', 'false'],
      // A private network speaks TCP only (libp2p's PSK does not cover QUIC, WebTransport, WebRTC).
      ['Swarm.Transports.Network.QUIC', 'false'],
      ['Swarm.Transports.Network.WebTransport', 'false'],
      ['Swarm.Transports.Network.WebRTCDirect', 'false'],
      ['Swarm.Transports.Network.Websocket', 'false'],
      ['Provide.Enabled', 'false'],
      ['HTTPRetrieval.Enabled', 'false'],
    );
    await writeFile(join(repoPath, 'swarm.key'), `/key/swarm/psk/1.0.0/\n/base16/\n${net.swarmKey}\n`, {
      mode: 0o600,
    });
  }
  for (const [key, value] of settings) await cli(['config', '--json', key, value]);
  const proc = startProcess(ipfs, net ? ['daemon'] : ['daemon', '--offline'], { env });
  try {
    await waitFor(
      () => {
        if (proc.child.exitCode !== null)
          throw new Error(`ipfs daemon exited: ${proc.output().slice(-2000)}`);
        return /Daemon is ready/.test(proc.output());
      },
      { what: 'Kubo to be ready', timeoutMs: 60_000 },
    );
    // Kubo writes the API's actual multiaddr to $IPFS_PATH/api once bound.
    const apiAddr = (await readFile(join(repoPath, 'api'), 'utf8')).trim();
    const apiPort = /\/tcp\/(\d+)/.exec(apiAddr)?.[1];
    const gatewayPort = /Gateway server listening on \/ip4\/127\.0\.0\.1\/tcp\/(\d+)/.exec(
      proc.output(),
    )?.[1];
    if (!apiPort || !gatewayPort)
      throw new Error(`cannot read Kubo's ports from: ${apiAddr} / ${proc.output()}`);
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    await waitFor(async () => (await fetch(`${apiUrl}/api/v0/id`, { method: 'POST' })).ok, {
      what: 'Kubo API to answer /api/v0/id',
    });
    return {
      apiUrl,
      gatewayUrl: `http://127.0.0.1:${gatewayPort}`,
      repoPath,
      peerId,
      ...(net ? { swarmAddr: `/ip4/127.0.0.1/tcp/${net.swarmPort}` } : {}),
      process: proc,
      cli,
      async stop() {
        await proc.stop();
        if (temporary) await rm(repoPath, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await proc.stop();
    if (temporary) await rm(repoPath, { recursive: true, force: true });
    throw error;
  }
}
