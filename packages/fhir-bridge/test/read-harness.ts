/**
 * Read-side test harness: a real bridge (HTTP) on real anvil + Kubo with a Synthea patient ingested
 * and anchored, and the cast of the consent matrix set up on chain — the patient, doctors and
 * hospitals with live, expired and revoked grants, a removed doctor, another patient, a stranger.
 */
import { randomBytes } from 'node:crypto';
import { ALL_SCOPES, NO_EXPIRY } from '@ehr-anchor/contracts';
import { chainProvider, chainSigner, registryAt } from '@ehr-anchor/contracts/deploy';
import { pseudonym, toHex } from '@ehr-anchor/core';
import { DEV_KEYS, jsonRpc, loadSyntheaBundles } from '@ehr-anchor/testkit';
import { Wallet, type Contract, type JsonRpcProvider } from 'ethers';
import type { Bundle, Patient } from 'fhir/r4';
import { Writable } from 'node:stream';
import { SiweMessage } from 'siwe';
import { bridgeFor, logSink, push, startEnv, waitAnchored, type Env } from './helpers.js';

function tee(inner: Writable): Writable {
  return new Writable({
    write(chunk: Buffer, enc, cb) {
      process.stderr.write(chunk);
      inner.write(chunk, enc, cb);
    },
  });
}

export type Bridge = Awaited<ReturnType<typeof bridgeFor>>;

export const ACTORS = [
  'patient self',
  'granted doctor',
  'granted hospital',
  'doctor of granted hospital',
  'expired grant',
  'revoked grant',
  'removed doctor',
  'other patient',
  'stranger',
  'no session',
] as const;
export type ActorName = (typeof ACTORS)[number];

export interface ReadWorld {
  env: Env;
  bridge: Bridge;
  logs: ReturnType<typeof logSink>;
  provider: JsonRpcProvider;
  bundle: Bundle;
  patient: Patient;
  subject: string;
  otherSubject: string;
  wallets: Record<Exclude<ActorName, 'no session'>, Wallet>;
  /** Registry connected to a signer for `key`. */
  as(key: string): Contract;
  stop(): Promise<void>;
}

export async function send(contract: Contract, fn: string, ...args: unknown[]): Promise<void> {
  const tx = (await contract.getFunction(fn)(...args)) as { wait(): Promise<unknown> };
  await tx.wait();
}

/** Starts everything and sets up the matrix cast. */
export async function startReadWorld(over: Parameters<typeof bridgeFor>[2] = {}): Promise<ReadWorld> {
  const env = await startEnv();
  const logs = logSink();
  // READ_DEBUG=1 also copies the bridge's log to stderr.
  const bridge = await bridgeFor(env, 'read', over, process.env.READ_DEBUG ? tee(logs.stream) : logs.stream);
  const provider = chainProvider(env.chain.anvil.rpcUrl);
  const registry = env.chain.registry;
  const signers = new Map<string, Contract>();
  const as = (key: string) => {
    let c = signers.get(key);
    if (!c) {
      c = registryAt(registry, chainSigner(key, provider));
      signers.set(key, c);
    }
    return c;
  };

  const bundle = loadSyntheaBundles().get('tiny-clemente-kreiger.json')!;
  const patient = bundle.entry!.find((e) => e.resource?.resourceType === 'Patient')!.resource as Patient;
  const res = await push(bridge.url, '/fhir', bundle);
  if (res.status !== 202) throw new Error(`ingest failed: ${res.status}`);
  await waitAnchored(bridge.app, bundle.entry!.length);
  const subject = await pseudonym(patient.id!, bridge.app.keyStore.pseudonymKey());
  const otherSubject = toHex(new Uint8Array(randomBytes(32)));

  const hospitalA = new Wallet(DEV_KEYS.hospitalA).address;
  const hospitalB = new Wallet(DEV_KEYS.hospitalB).address;
  const wallets = {
    'patient self': new Wallet(DEV_KEYS.patient),
    'granted doctor': new Wallet(DEV_KEYS.doctorA),
    'granted hospital': new Wallet(DEV_KEYS.hospitalB),
    'doctor of granted hospital': new Wallet(DEV_KEYS.doctorB),
    'expired grant': Wallet.createRandom() as unknown as Wallet,
    'revoked grant': Wallet.createRandom() as unknown as Wallet,
    'removed doctor': Wallet.createRandom() as unknown as Wallet,
    'other patient': new Wallet(DEV_KEYS.visitor),
    stranger: Wallet.createRandom() as unknown as Wallet,
  };

  // Registration: the patient's wallet gets the subject the bridge computes; another patient another subject.
  await send(as(DEV_KEYS.patient), 'requestRegistration', hospitalA, subject);
  await send(as(DEV_KEYS.hospitalA), 'approveRegistration', wallets['patient self'].address);
  await send(as(DEV_KEYS.visitor), 'requestRegistration', hospitalA, otherSubject);
  await send(as(DEV_KEYS.hospitalA), 'approveRegistration', wallets['other patient'].address);
  // Three more doctors of hospital A for the expired, revoked and removed cases.
  for (const name of ['expired grant', 'revoked grant', 'removed doctor'] as const)
    await send(as(DEV_KEYS.hospitalA), 'addDoctor', wallets[name].address, `Dr. ${name}`);

  const p = as(DEV_KEYS.patient);
  await send(p, 'grantAccess', wallets['granted doctor'].address, ALL_SCOPES, NO_EXPIRY);
  await send(p, 'grantAccess', hospitalB, ALL_SCOPES, NO_EXPIRY);
  await send(p, 'grantAccess', wallets['revoked grant'].address, ALL_SCOPES, NO_EXPIRY);
  await send(p, 'revokeAccess', wallets['revoked grant'].address);
  await send(p, 'grantAccess', wallets['removed doctor'].address, ALL_SCOPES, NO_EXPIRY);
  await send(as(DEV_KEYS.hospitalA), 'removeDoctor', wallets['removed doctor'].address);
  const now = (await provider.getBlock('latest'))!.timestamp;
  await send(p, 'grantAccess', wallets['expired grant'].address, ALL_SCOPES, BigInt(now + 60));
  // Let that grant expire: move the chain's clock past it and mine a block.
  await jsonRpc(env.chain.anvil.rpcUrl, 'evm_increaseTime', [120]);
  await jsonRpc(env.chain.anvil.rpcUrl, 'evm_mine', []);

  return {
    env,
    bridge,
    logs,
    provider,
    bundle,
    patient,
    subject,
    otherSubject,
    wallets,
    as,
    async stop() {
      await bridge.app.close();
      provider.destroy();
      await env.stop();
    },
  };
}

/** Signs in over HTTP with EIP-4361 and returns the session token. */
export async function signIn(url: string, wallet: Wallet, extra: Partial<SiweMessage> = {}): Promise<string> {
  const challenge = (await (await fetch(`${url}/auth/nonce`, { method: 'POST' })).json()) as {
    nonce: string;
    domain: string;
    uri: string;
    chainId: number;
    statement: string;
  };
  const message = new SiweMessage({
    domain: challenge.domain,
    address: wallet.address,
    statement: challenge.statement,
    uri: challenge.uri,
    version: '1',
    chainId: challenge.chainId,
    nonce: challenge.nonce,
    issuedAt: new Date().toISOString(),
    ...extra,
  }).prepareMessage();
  const signature = await wallet.signMessage(message);
  const res = await fetch(`${url}/auth/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ message, signature }),
  });
  if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}

export async function api(
  url: string,
  path: string,
  token: string | undefined,
  init: { method?: string; body?: unknown } = {},
) {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${url}${path}`, {
    method: init.method ?? 'GET',
    headers,
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  const type = res.headers.get('content-type') ?? '';
  const body: unknown = type.includes('json') ? await res.json() : Buffer.from(await res.arrayBuffer());
  return {
    status: res.status,
    headers: res.headers,
    body: body as Record<string, unknown> & { items?: unknown[] },
  };
}

/** Uploads a document as multipart over HTTP. */
export async function upload(
  url: string,
  token: string,
  fields: Record<string, string>,
  file: Blob,
  filename = 'note.txt',
) {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  form.append('file', file, filename);
  const res = await fetch(`${url}/documents`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: form,
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}
