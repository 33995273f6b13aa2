import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startProcess, type ManagedProcess } from './processes.js';
import { toolPath } from './tools.js';
import { waitFor } from './wait.js';

const run = promisify(execFile);

export interface KuboOptions {
  /** Keep the repository here (created with the test profile if absent); default: a fresh temp dir removed on stop. */
  repoPath?: string;
  /** API port; 0 (the default) lets the OS choose. */
  apiPort?: number;
  /** Gateway port; 0 (the default) lets the OS choose. */
  gatewayPort?: number;
}

export interface Kubo {
  /** Kubo RPC API base URL, e.g. `http://127.0.0.1:5001` (kubo-rpc-client's `url`). */
  readonly apiUrl: string;
  /** Read-only HTTP gateway base URL. */
  readonly gatewayUrl: string;
  readonly repoPath: string;
  readonly process: ManagedProcess;
  /** Runs the `ipfs` CLI against this repository (e.g. `['add', '--cid-version=1', path]`). */
  cli(args: string[]): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Starts a Kubo daemon on loopback with `ipfs init --profile=test` (no bootstrap peers, no mDNS,
 * random identity), offline so it never dials out, API and gateway on OS-chosen ports.
 */
export async function startKubo(options: KuboOptions = {}): Promise<Kubo> {
  const ipfs = toolPath('ipfs');
  const temporary = options.repoPath === undefined;
  const repoPath = options.repoPath ?? (await mkdtemp(join(tmpdir(), 'ehr-kubo-')));
  const env = { ...process.env, IPFS_PATH: repoPath };
  const cli = async (args: string[]) => (await run(ipfs, args, { env, maxBuffer: 64 << 20 })).stdout;
  if (!existsSync(join(repoPath, 'config'))) {
    await cli(['init', '--profile=test']);
  }
  await cli(['config', 'Addresses.API', `/ip4/127.0.0.1/tcp/${options.apiPort ?? 0}`]);
  await cli(['config', 'Addresses.Gateway', `/ip4/127.0.0.1/tcp/${options.gatewayPort ?? 0}`]);
  await cli(['config', '--json', 'Addresses.Swarm', '[]']);
  const proc = startProcess(ipfs, ['daemon', '--offline'], { env });
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
