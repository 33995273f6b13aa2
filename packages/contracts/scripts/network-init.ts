/**
 * The first-start job of the production compose file (`network-init` in besu/docker-compose.yml):
 * creates each validator's node key — fresh random keys, or with the compose `dev` profile the
 * committed dev keys — then the genesis (their addresses in QBFT extraData), each node's own
 * permissioning file and the bootnode's enode, in the volumes the validators mount. It writes the
 * genesis last and changes nothing once it exists, so restarts and re-runs keep the network.
 *
 *   node packages/contracts/dist/scripts/network-init.js     (in the runtime image)
 *
 * Environment:
 *   EHR_NETWORK_DIR             shared volume for genesis.json and bootnode (default /network)
 *   EHR_NODES_DIR               where each validator's own volume is mounted as validator-N/ (default /nodes)
 *   EHR_VALIDATORS              number of validators (default 4)
 *   EHR_DEV_KEYS_DIR            dev profile: validator-N/key files to use instead of new keys, and a
 *                               dev-accounts file of addresses to allow (default /dev-keys; empty in production)
 *   EHR_ADMIN_KEY_FILE          the network admin's key: its address may transact
 *   EHR_BRIDGE_SIGNER_KEY_FILE  the bridge signer's key: its address may transact
 *   EHR_ALLOW_ACCOUNTS          more addresses that may transact (comma-separated)
 *   EHR_BESU_UID, EHR_BESU_GID  owner given to the node files when run as root (default 1000, the Besu image's user)
 */
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SigningKey, Wallet, getAddress, hexlify } from 'ethers';
import { networkFiles, validatorFromKey, type Validator } from '../src/besu.js';

export interface NetworkInitOptions {
  /** Shared directory for genesis.json and bootnode. */
  networkDir: string;
  /** Parent of each validator's own directory `validator-N/`. */
  nodesDir: string;
  /** Number of validators. */
  validators: number;
  /** Committed dev keys (`validator-N/key`, `dev-accounts`); absent or empty means "generate". */
  devKeysDir?: string | undefined;
  /** Addresses allowed to transact. */
  accounts: readonly string[];
  /** Owner of the node files (set when running as root). */
  owner?: { uid: number; gid: number } | undefined;
}

export interface NetworkInitResult {
  /** `generated`: new random keys; `dev`: the committed dev keys; `existing`: the network was there. */
  mode: 'generated' | 'dev' | 'existing';
  /** The validators' addresses (never their keys). */
  validators: string[];
}

const readKey = (file: string) => readFileSync(file, 'utf8').trim();

/** A fresh secp256k1 node key from the operating system's random generator. */
export function randomNodeKey(): string {
  for (;;) {
    const candidate = hexlify(randomBytes(32));
    try {
      return new SigningKey(candidate).privateKey;
    } catch {
      // zero or not below the curve order: astronomically rare, draw again
    }
  }
}

/** Writes `content` to `file` through a temporary file and a rename, so a crash never leaves half a file. */
function writeAtomic(
  file: string,
  content: string,
  mode: number,
  owner?: { uid: number; gid: number },
): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, content, { mode });
  chmodSync(tmp, mode);
  if (owner) chownSync(tmp, owner.uid, owner.gid);
  renameSync(tmp, file);
}

/** Creates the network's files unless its genesis exists already. See the file's comment. */
export function initNetwork(options: NetworkInitOptions): NetworkInitResult {
  const n = options.validators;
  if (!Number.isInteger(n) || n < 1) throw new Error(`EHR_VALIDATORS must be a positive integer, not ${n}`);
  const nodeKeyFile = (i: number) => join(options.nodesDir, `validator-${i}`, 'key');
  const genesisFile = join(options.networkDir, 'genesis.json');
  const indices = Array.from({ length: n }, (_, i) => i + 1);

  if (existsSync(genesisFile)) {
    const missing = indices.filter((i) => !existsSync(nodeKeyFile(i)));
    if (missing.length > 0)
      throw new Error(
        `the genesis exists but validator(s) ${missing.join(', ')} have no node key: restore their volume (a new key would not be a validator)`,
      );
    return {
      mode: 'existing',
      validators: indices.map((i) => validatorFromKey(readKey(nodeKeyFile(i)), i).address),
    };
  }

  const devKey = (i: number) => (options.devKeysDir ? join(options.devKeysDir, `validator-${i}`, 'key') : '');
  const devCount = indices.filter((i) => options.devKeysDir && existsSync(devKey(i))).length;
  if (devCount !== 0 && devCount !== n)
    throw new Error(`${options.devKeysDir} holds dev keys for ${devCount} of ${n} validators`);
  const mode = devCount === n ? 'dev' : 'generated';

  // A key already in a node's volume (an earlier run stopped before the genesis) is kept.
  const validators: Validator[] = indices.map((i) => {
    const key = existsSync(nodeKeyFile(i))
      ? readKey(nodeKeyFile(i))
      : mode === 'dev'
        ? readKey(devKey(i))
        : randomNodeKey();
    return validatorFromKey(key, i);
  });
  const accounts = [...options.accounts];
  const devAccounts = options.devKeysDir ? join(options.devKeysDir, 'dev-accounts') : '';
  if (mode === 'dev' && existsSync(devAccounts))
    accounts.push(
      ...readFileSync(devAccounts, 'utf8')
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean),
    );

  const files = networkFiles(validators, accounts);
  // Node files first, the shared bootnode next, the genesis last: its presence means "done".
  const order = [...files.keys()].sort((a, b) => rank(a) - rank(b));
  for (const path of order) {
    const secret = path.endsWith('/key');
    const target = path.startsWith('network/')
      ? join(options.networkDir, path.slice('network/'.length))
      : join(options.nodesDir, path);
    if (secret && existsSync(target)) continue;
    writeAtomic(
      target,
      files.get(path)!,
      secret ? 0o600 : 0o644,
      path.startsWith('network/') ? undefined : options.owner,
    );
  }
  if (options.owner)
    for (const i of indices)
      chownSync(join(options.nodesDir, `validator-${i}`), options.owner.uid, options.owner.gid);
  return { mode, validators: validators.map((v) => v.address) };
}

function rank(path: string): number {
  if (path === 'network/genesis.json') return 2;
  return path.startsWith('network/') ? 1 : 0;
}

/** The address of the key in `file`, if the variable names one. */
function addressOfKeyFile(variable: string): string[] {
  const file = process.env[variable];
  return file ? [new Wallet(readKey(file)).address] : [];
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
    const result = initNetwork({
      networkDir: process.env.EHR_NETWORK_DIR ?? '/network',
      nodesDir: process.env.EHR_NODES_DIR ?? '/nodes',
      validators: Number(process.env.EHR_VALIDATORS ?? 4),
      devKeysDir: process.env.EHR_DEV_KEYS_DIR ?? '/dev-keys',
      accounts: [
        ...addressOfKeyFile('EHR_ADMIN_KEY_FILE'),
        ...addressOfKeyFile('EHR_BRIDGE_SIGNER_KEY_FILE'),
        ...(process.env.EHR_ALLOW_ACCOUNTS ?? '')
          .split(',')
          .map((a) => a.trim())
          .filter(Boolean)
          .map((a) => getAddress(a)),
      ],
      owner: asRoot
        ? { uid: Number(process.env.EHR_BESU_UID ?? 1000), gid: Number(process.env.EHR_BESU_GID ?? 1000) }
        : undefined,
    });
    const what = {
      generated: 'created new validator keys and the genesis',
      dev: 'used the committed DEV validator keys (dev profile: never for a real network)',
      existing: 'the network exists already; nothing changed',
    }[result.mode];
    console.log(`network-init: ${what}; validators ${result.validators.join(', ')}`);
  } catch (error) {
    console.error(`network-init: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
