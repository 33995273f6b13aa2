/**
 * `npm start`: the whole local stack on loopback — anvil (chain id 1337, gas price 0, state kept in
 * .data/ so the chain survives a restart), one Kubo node per hospital (repos in .data/, peered in one
 * private IPFS network), then the parts in this folder (contracts deployed or reused, a FHIR server
 * and a bridge per hospital, fixtures, demo portal) — and a table of URLs and accounts. Two
 * hospitals (A and B) by default; `EHR_HOSPITALS=1` runs hospital A alone.
 *
 * Before any service starts it checks the tools it needs (one sentence each when missing) and builds
 * the demo in dependency order (buildDemo), stopping at the first failed step with its output.
 * SIGINT or SIGTERM — Ctrl-C, or a supervisor signalling this one PID — stops every process it
 * started (builds included) within 10 s; a second signal, or the deadline, kills what is left.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DEV_KEYS,
  hapiJar,
  repoRoot,
  startAnvil,
  startCluster,
  startKubo,
  stopAll,
  toolPath,
} from '@ehr-anchor/testkit';
import { Wallet } from 'ethers';
import { StartError, type StackContext, type StackPart, type StackRow, type StackUp } from './context.js';
import { up as contracts } from './contracts.js';
import { up as fhirServer } from './fhir-server.js';
import { up as bridge } from './bridge.js';
import { buildDemo, runningBuilds, up as demo } from './demo.js';
import { SITES, hospitalsWanted, portOf, valueKey } from './sites.js';

/** The private IPFS network's key, made once and kept with the nodes' repositories. */
function swarmKey(file: string): string {
  if (!existsSync(file)) writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  return readFileSync(file, 'utf8').trim();
}

/** The parts, in start order. */
const PARTS: { name: string; up: StackUp }[] = [
  { name: 'contracts', up: contracts },
  { name: 'fhir-server', up: fhirServer },
  { name: 'bridge', up: bridge },
  { name: 'demo', up: demo },
];

const dataDir = join(repoRoot, '.data');
mkdirSync(dataDir, { recursive: true });
const rows: StackRow[] = [];
const stops: (() => Promise<void>)[] = [];
const started = Date.now();
const log = (message: string) => console.log(`[start] ${message}`);

/** What a supervisor may wait for after its signal; past it, whatever is left is killed. */
const STOP_DEADLINE_MS = 9_000;

let stopping = false;
async function shutdown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    log('stopping…');
    // Past the deadline: exit; the exit hook of testkit's process manager SIGKILLs every service group.
    setTimeout(() => {
      log('stopping took too long: killing what is left');
      process.exit(code || 1);
    }, STOP_DEADLINE_MS).unref();
    for (const child of runningBuilds) child.kill('SIGTERM');
    for (const stop of stops.reverse()) await stop().catch((e: unknown) => log(`stop failed: ${String(e)}`));
    await stopAll();
    log('stopped; no process left behind');
  }
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

/** The tools the stack runs, each missing one named in a sentence with the command that installs it. */
function checkTools(): void {
  toolPath('anvil');
  toolPath('ipfs');
  if (spawnSync('java', ['-version']).error)
    throw new StartError(
      'Java is not installed (the FHIR server needs Java 17 or newer): run `apt-get install -y default-jre-headless`.',
    );
  if (!existsSync(hapiJar))
    throw new StartError(
      'The HAPI FHIR server is not built in .tools/: run `npm run ensure-tools` (needs Maven).',
    );
}

try {
  const hospitals = hospitalsWanted();
  try {
    checkTools();
  } catch (error) {
    throw error instanceof StartError ? error : new StartError((error as Error).message);
  }
  await buildDemo(log);

  // EHR_BLOCK_TIME=2: a block every 2 s, as the Besu QBFT genesis sets (default: one per transaction).
  const blockTime = Number(process.env.EHR_BLOCK_TIME ?? 0);
  if (!Number.isInteger(blockTime) || blockTime < 0)
    throw new StartError(
      `EHR_BLOCK_TIME must be a whole number of seconds (0 = a block per transaction), not "${process.env.EHR_BLOCK_TIME}"`,
    );
  const mining = blockTime > 0 ? `a block every ${blockTime} s` : 'a block per transaction';
  log(`starting anvil (chain id 1337, gas price 0, ${mining}, state in .data/anvil-state.json)`);
  const anvil = await startAnvil({
    statePath: join(dataDir, 'anvil-state.json'),
    port: Number(process.env.EHR_RPC_PORT ?? 8545),
    ...(blockTime > 0 ? { blockTime } : {}),
  });
  stops.push(() => anvil.stop());
  rows.push({
    name: 'chain (anvil)',
    url: anvil.rpcUrl,
    note: `chain id 1337, free gas, ${mining}, like a Besu QBFT dev network`,
  });

  const values: Record<string, string> = {
    rpcUrl: anvil.rpcUrl,
    chainId: '1337',
    hospitals: String(hospitals),
  };
  if (hospitals === 1) {
    log('starting Kubo (repo in .data/ipfs)');
    const kubo = await startKubo({
      repoPath: join(dataDir, 'ipfs'),
      apiPort: portOf(SITES.hospitalA, 'EHR_IPFS_API_PORT', 5001),
      gatewayPort: portOf(SITES.hospitalA, 'EHR_IPFS_GATEWAY_PORT', 8080),
    });
    stops.push(() => kubo.stop());
    rows.push({ name: 'IPFS (Kubo) API', url: kubo.apiUrl, note: `gateway ${kubo.gatewayUrl}` });
    Object.assign(values, { ipfsApiUrl: kubo.apiUrl, ipfsGatewayUrl: kubo.gatewayUrl });
  } else {
    const sites = [SITES.hospitalA, SITES.hospitalB];
    log('starting two Kubo nodes in one private IPFS network (repos in .data/ipfs, .data/ipfs-b)');
    const swarmPorts = sites.map((site) => portOf(site, 'EHR_IPFS_SWARM_PORT', 4001));
    const cluster = await startCluster({
      repoPaths: sites.map((site) => join(dataDir, `ipfs${site.dir}`)),
      swarmKey: swarmKey(join(dataDir, 'ipfs-swarm.key')),
      apiPorts: sites.map((site) => portOf(site, 'EHR_IPFS_API_PORT', 5001)),
      gatewayPorts: sites.map((site) => portOf(site, 'EHR_IPFS_GATEWAY_PORT', 8080)),
      // Peers must know each other's swarm port in advance: 0 (OS-chosen) means "pick free ones now".
      ...(swarmPorts.every((p) => p > 0) ? { swarmPorts } : {}),
    });
    stops.push(() => cluster.stop());
    sites.forEach((site, i) => {
      const node = cluster.nodes[i]!;
      values[valueKey(site, 'ipfsApiUrl')] = node.apiUrl;
      values[valueKey(site, 'ipfsGatewayUrl')] = node.gatewayUrl;
      rows.push({
        name: `IPFS ${site.letter} (Kubo) API`,
        url: node.apiUrl,
        note: `gateway ${node.gatewayUrl}; peered with the other node (swarm key .data/ipfs-swarm.key)`,
      });
    });
  }

  const ctx: StackContext = {
    dataDir,
    values,
    row: (row) => rows.push(row),
    log: (message) => log(message),
  };

  for (const part of PARTS) {
    log(`${part.name}: starting`);
    const handle: StackPart | void = await part.up(ctx);
    if (handle?.stop) stops.push(handle.stop.bind(handle));
  }

  const accounts = Object.entries(DEV_KEYS).map(([role, key]) => ({
    role,
    address: new Wallet(key).address,
  }));
  const width = Math.max(...rows.map((r) => r.name.length));
  console.log(`\nehr-anchor local stack ready in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  for (const r of rows) console.log(`  ${r.name.padEnd(width)}  ${r.url.padEnd(24)}  ${r.note ?? ''}`);
  console.log("\n  dev accounts (anvil's well-known test keys — never use them elsewhere):");
  for (const a of accounts) console.log(`  ${a.role.padEnd(width)}  ${a.address}`);
  console.log('\nready — Ctrl-C stops everything');
} catch (error) {
  if (stopping) await new Promise(() => {}); // a signal stopped a step: shutdown() ends the process
  if (error instanceof StartError) console.error(`\n✖ ${error.message}\n`);
  else console.error(error);
  await shutdown(1);
}
