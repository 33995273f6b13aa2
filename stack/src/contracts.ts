/**
 * The contracts part of `npm start`: deploys EhrRegistry (or reuses the deployment in
 * `.data/deployment.json` while the persisted anvil chain still holds it), then makes sure the dev
 * network exists — hospitals A and B with their bridge signers, doctorA at A, doctorB at B, each with
 * a display name, and the bridge endpoint of every hospital this stack runs (portals find the bridges
 * from the chain) — and publishes `deploymentFile` and `ehrRegistryAddress`. Safe to run on every
 * restart.
 */
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { join } from 'node:path';
import { DEV_KEYS } from '@ehr-anchor/testkit';
import { Wallet, keccak256, toUtf8Bytes, type JsonRpcProvider } from 'ethers';
import { ALL_ENDPOINT_SERVICES, ENDPOINT_SERVICES, type Deployment } from '@ehr-anchor/contracts';
import {
  chainProvider,
  chainSigner,
  deployContracts,
  isLive,
  readDeployment,
  registryAt,
} from '@ehr-anchor/contracts/deploy';
import type { StackUp } from './context.js';
import type { DevHospitalKey } from './hospital-fixtures.js';
import { SITES, portOf, sitesOf } from './sites.js';

export type DevHospital = DevHospitalKey;

type DevKey = keyof typeof DEV_KEYS;

/**
 * The dev network: each hospital with its bridge key, its doctor's key, optionally a staff member's
 * key (all from testkit's DEV_KEYS), and their display names.
 */
export const DEV_HOSPITALS: Record<
  DevHospital,
  {
    name: string;
    bridge: DevKey;
    doctor: DevKey;
    doctorName: string;
    staff?: { key: DevKey; name: string };
  }
> = {
  hospitalA: {
    name: 'Dev Hospital A',
    bridge: 'bridgeA',
    doctor: 'doctorA',
    doctorName: 'Dr. Ada Okafor',
  },
  hospitalB: { name: 'Dev Hospital B', bridge: 'bridgeB', doctor: 'doctorB', doctorName: 'Dr. Ben Laurent' },
};

/** What a dev bridge serves (everything this version's bridge offers but the live event stream). */
export const DEV_ENDPOINT_SERVICES = ALL_ENDPOINT_SERVICES & ~ENDPOINT_SERVICES.events;

/**
 * The URL the bridge part of `npm start` serves a hospital's bridge on: A on EHR_BRIDGE_PORT (default
 * 8787), B on EHR_BRIDGE_B_PORT (default A's + 1). Undefined when the port is OS-chosen (0): nothing
 * known to publish before the bridge starts.
 */
export function devBridgeUrl(
  hospital: DevHospital = 'hospitalA',
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const port = portOf(SITES[hospital], 'EHR_BRIDGE_PORT', 8787, env);
  return port > 0 ? `http://127.0.0.1:${port}` : undefined;
}

/**
 * A dev hospital's X25519 key-wrapping key pair (raw 32-byte keys, hex), derived from a public seed so
 * every part of the local stack agrees on it. The private key is as public as DEV_KEYS: dev only.
 */
export function devKeyWrappingKey(hospital: DevHospital): {
  privateKey: `0x${string}`;
  publicKey: `0x${string}`;
} {
  const seed = keccak256(toUtf8Bytes(`ehr-anchor dev key-wrapping key ${hospital}`));
  const raw = Buffer.from(seed.slice(2), 'hex');
  // PKCS#8 wrapper of a raw X25519 private key (RFC 8410).
  const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b656e04220420', 'hex'), raw]);
  const spki = createPublicKey(createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })).export({
    format: 'der',
    type: 'spki',
  });
  return { privateKey: seed as `0x${string}`, publicKey: `0x${spki.subarray(-32).toString('hex')}` };
}

/**
 * Registers the dev hospitals, doctors and staff that are missing, and publishes the bridge endpoints
 * given (hospital → URL) that differ from the chain's; a no-op when all are there. Returns what it did.
 */
export async function ensureDevNetwork(
  provider: JsonRpcProvider,
  registryAddress: string,
  endpoints: Partial<Record<DevHospital, string>> = {},
): Promise<string[]> {
  const done: string[] = [];
  const reader = registryAt(registryAddress, provider);
  const admin = registryAt(registryAddress, chainSigner(DEV_KEYS.admin, provider));
  const view = <T>(fn: string, ...args: unknown[]) => reader.getFunction(fn)(...args) as Promise<T>;
  for (const [key, h] of Object.entries(DEV_HOSPITALS) as [
    DevHospital,
    (typeof DEV_HOSPITALS)[DevHospital],
  ][]) {
    const hospital = new Wallet(DEV_KEYS[key]).address;
    const bridge = new Wallet(DEV_KEYS[h.bridge]).address;
    const doctor = new Wallet(DEV_KEYS[h.doctor]).address;
    if (!(await view<boolean>('isHospital', hospital))) {
      await (
        await admin.getFunction('addHospital')(hospital, bridge, devKeyWrappingKey(key).publicKey, h.name)
      ).wait();
      done.push(`added ${key}`);
    }
    const asHospital = registryAt(registryAddress, chainSigner(DEV_KEYS[key], provider));
    if ((await view<string>('hospitalOfDoctor', doctor)) !== hospital) {
      await (await asHospital.getFunction('addDoctor')(doctor, h.doctorName)).wait();
      done.push(`added ${h.doctor} to ${key}`);
    }
    if (h.staff) {
      const staff = new Wallet(DEV_KEYS[h.staff.key]).address;
      if ((await view<string>('hospitalOfStaff', staff)) !== hospital) {
        await (await asHospital.getFunction('addStaff')(staff, h.staff.name)).wait();
        done.push(`added ${h.staff.key} to ${key} as staff`);
      }
    }
    const url = endpoints[key];
    if (url) {
      const [current, services] = await view<[string, bigint]>('endpointOf', hospital);
      if (current !== url || Number(services) !== DEV_ENDPOINT_SERVICES) {
        await (await asHospital.getFunction('setEndpoint')(url, DEV_ENDPOINT_SERVICES)).wait();
        done.push(`published ${key}'s bridge endpoint ${url}`);
      }
    }
  }
  return done;
}

/** Deploys, or reuses the deployment in `file` if the chain still holds it. */
export async function deployOrReuse(
  rpcUrl: string,
  file: string,
): Promise<{ deployment: Deployment; reused: boolean }> {
  const provider = chainProvider(rpcUrl);
  try {
    let existing: Deployment | undefined;
    try {
      existing = readDeployment(file);
    } catch {
      existing = undefined;
    }
    if (existing && (await isLive(provider, existing))) return { deployment: existing, reused: true };
  } finally {
    provider.destroy();
  }
  return {
    deployment: await deployContracts({ rpcUrl, adminKey: DEV_KEYS.admin, outFile: file }),
    reused: false,
  };
}

export const up: StackUp = async (ctx) => {
  const rpcUrl = ctx.values.rpcUrl;
  if (!rpcUrl) throw new Error('contracts: no rpcUrl published by the chain part');
  const file = join(ctx.dataDir, 'deployment.json');
  const { deployment, reused } = await deployOrReuse(rpcUrl, file);
  ctx.log(`contracts: EhrRegistry ${reused ? 'reused' : 'deployed'} at ${deployment.addresses.ehrRegistry}`);
  const provider = chainProvider(rpcUrl);
  try {
    // Each hospital's bridge is the bridge part's, on its fixed port; portals find it from the chain.
    const endpoints: Partial<Record<DevHospital, string>> = {};
    for (const site of sitesOf(ctx.values)) {
      const url = devBridgeUrl(site.key);
      if (url) endpoints[site.key] = url;
    }
    const changes = await ensureDevNetwork(provider, deployment.addresses.ehrRegistry, endpoints);
    ctx.log(`contracts: dev network ${changes.length ? changes.join(', ') : 'already set up'}`);
  } finally {
    provider.destroy();
  }
  ctx.values.deploymentFile = file;
  ctx.values.ehrRegistryAddress = deployment.addresses.ehrRegistry;
  ctx.row({
    name: 'EhrRegistry',
    url: deployment.addresses.ehrRegistry,
    note: `hospitals A+B, doctorA@A, doctorB@B; ${file}`,
  });
};
