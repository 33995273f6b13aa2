#!/usr/bin/env node
/**
 * `ehr-bridge` — run and operate the bridge.
 *
 *   ehr-bridge start  [--config FILE]                          run the service (env/JSON config)
 *   ehr-bridge sync   --source URL [--since DATE] [--types A,B] [--config FILE] [--anchor]
 *   ehr-bridge status [--url URL]                               outbox counts, lag, dead letters, latest batches
 *   ehr-bridge retry  [--url URL]                               put dead letters back in their queues
 *   ehr-bridge verify <Type/id> [--url URL] [--config FILE]     check every version against the chain
 *   ehr-bridge keys init --file FILE                             write a new key store (mode 0600)
 *   ehr-bridge endpoint set <url> [--services a,b] [--config FILE]  publish the bridge's URL on chain (hospital key)
 */
import { parseArgs } from 'node:util';
import { existsSync, readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { contentHash, leafHash, openEnvelope, recordAad, verifyProof, type Hex } from '@ehr-anchor/core';
import type { ApiAnchorLookup, ApiBridgeStatus, ApiDeadLetterRetry } from '@ehr-anchor/core/api';
import {
  ALL_ENDPOINT_SERVICES,
  ENDPOINT_SERVICES,
  checkEndpointUrl,
  describeContractError,
  endpointServiceMask,
  endpointServices,
  type EndpointService,
} from '@ehr-anchor/contracts';
import { buildApp } from './app.js';
import { Chain } from './pipeline/chain.js';
import {
  ConfigError,
  ENV_VARS,
  NESTED_ENV_VARS,
  loadConfig,
  type BridgeConfig,
  type SourceConfig,
} from './config.js';
import { loadKeyStore } from './keys/keystore.js';
import { startServer } from './server.js';

const HELP = `ehr-bridge — the ehr-anchor FHIR bridge

Usage:
  ehr-bridge start  [--config FILE]
      Run the service: ingest routes, outbox, IPFS + chain pipeline.
  ehr-bridge sync   --source URL [--since DATE] [--types Patient,Observation] [--page-size N] [--anchor] [--config FILE]
      Backfill from a FHIR server's search (per type) or system _history, into the same outbox.
      Resumable: run it again with the same arguments to continue where it stopped.
      --anchor also runs the pipeline until everything synced is anchored.
  ehr-bridge status [--url URL]
      Outbox counts by state, lag, dead letters and the latest batches of a running bridge.
  ehr-bridge retry  [--url URL]
      Put every dead letter (Provenance or Consent write-backs that gave up) back in its queue.
  ehr-bridge verify <Type/id> [--url URL] [--config FILE]
      Check every version of a resource: leaf, Merkle proof, on-chain anchor, and (with the key
      store from --config) the decrypted content's hash.
  ehr-bridge keys init --file FILE
      Write a new key store (one active hospital key, a pseudonym key), mode 0600.
  ehr-bridge endpoint set <url> [--services records,entries,…] [--config FILE]
      Publish where this hospital's bridge answers (EhrRegistry setEndpoint), so portals find it
      from the chain. Signed with the hospital's own key, read from the file EHR_HOSPITAL_KEY_FILE
      (never from the command line); the chain and registry come from the bridge's configuration.
      Default services: every one this bridge serves but the live event stream.

Configuration (env wins over the JSON file named by --config or EHR_BRIDGE_CONFIG):
${Object.entries(ENV_VARS)
  .map(([env, field]) => `  ${env.padEnd(32)} ${field}`)
  .join('\n')}
${Object.entries(NESTED_ENV_VARS)
  .map(
    ([env, [path, kind]]) =>
      `  ${env.padEnd(32)} ${path.join('.')}${kind === 'list' ? ' (comma-separated)' : ''}`,
  )
  .join('\n')}
  EHR_BRIDGE_URL                   bridge base URL for status/verify/retry (default http://127.0.0.1:8787)
  EHR_BRIDGE_TOKEN                 operator credential they send (the bridge's operatorToken, or a source's bearer secret)
  EHR_HOSPITAL_KEY_FILE            endpoint set: file holding the hospital account's private key (0x…)
`;

function fail(message: string): never {
  process.stderr.write(`ehr-bridge: ${message}\n`);
  process.exit(2);
}

function config(file: string | undefined): BridgeConfig {
  try {
    return loadConfig(process.env, file ?? process.env.EHR_BRIDGE_CONFIG);
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message);
    throw error;
  }
}

async function getJson<T>(url: string, init: RequestInit = {}): Promise<T> {
  const token = process.env.EHR_BRIDGE_TOKEN;
  const response = await fetch(url, {
    ...init,
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  if (response.status === 401)
    fail('401: set EHR_BRIDGE_TOKEN to the operator token (or a source bearer secret)');
  const body = (await response.json()) as T & { resourceType?: string; issue?: { diagnostics?: string }[] };
  if (!response.ok) fail(`${response.status} ${body.issue?.[0]?.diagnostics ?? ''}`);
  return body;
}

async function start(args: { config?: string }) {
  const cfg = config(args.config);
  // This process is the bridge's own, so its V8 flags are ours to set (startServer, embedded in
  // someone else's process, leaves them alone). Read at every full GC, so setting it now applies.
  if (cfg.heapGrowingPercent > 0) setFlagsFromString(`--heap-growing-percent=${cfg.heapGrowingPercent}`);
  const bridge = await startServer(cfg);
  process.stdout.write(`ehr-bridge listening on ${bridge.url}\n`);
  const stop = () => {
    void bridge.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

async function sync(args: {
  config?: string;
  source?: string;
  since?: string;
  types?: string;
  'page-size'?: string;
  anchor?: boolean;
}) {
  if (!args.source) fail('sync needs --source URL');
  const cfg = config(args.config);
  const known = cfg.sources.find(
    (s) => s.fhirBaseUrl?.replace(/\/$/, '') === args.source!.replace(/\/$/, ''),
  );
  const source: SourceConfig = known ?? {
    id: 'sync',
    auth: { type: 'none' },
    fhirBaseUrl: args.source,
    fhirHeaders: {},
    provenance: false,
    types: [],
  };
  if (args.since && Number.isNaN(Date.parse(args.since)))
    fail('--since must be a date (YYYY-MM-DD or ISO time)');
  const types = args.types
    ? args.types
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean)
    : [undefined];
  const app = await buildApp({ ...cfg, workers: false, logLevel: 'warn' });
  const tty = process.stderr.isTTY;
  let fresh = 0;
  try {
    for (const type of types) {
      const key = `sync:${args.source}:${type ?? '*'}:${args.since ?? ''}`;
      const label = type ?? 'all types (_history)';
      fresh += await app.ingestor.pull(
        source,
        { type, since: args.since, pageSize: Number(args['page-size'] ?? 200) },
        {
          key,
          onPage: ({ pages, versions }) => {
            const bar = '#'.repeat(Math.min(30, pages)).padEnd(30, '.');
            const line = `${label}: [${bar}] ${pages} pages, ${versions} versions`;
            process.stderr.write(tty ? `\r${line}` : `${line}\n`);
          },
        },
      );
      if (tty) process.stderr.write('\n');
    }
    process.stdout.write(`synced: ${fresh} new versions queued\n`);
    if (args.anchor) {
      await app.pipeline.drain();
      const counts = await app.outbox.counts();
      process.stdout.write(
        `anchored: ${counts.records.anchored} records in ${counts.batches.anchored} batches\n`,
      );
    }
  } finally {
    await app.close();
  }
}

function bridgeUrl(url?: string): string {
  return (url ?? process.env.EHR_BRIDGE_URL ?? 'http://127.0.0.1:8787').replace(/\/$/, '');
}

async function status(args: { url?: string }) {
  const s = await getJson<ApiBridgeStatus>(`${bridgeUrl(args.url)}/status`);
  if (!s.records || !s.batches || s.lagMs === undefined || !s.deadLetters)
    fail('the counts need the operator credential: set EHR_BRIDGE_TOKEN');
  const dead = s.deadLetters;
  const lines = [
    `outbox     ${s.outbox}`,
    `records    ${Object.entries(s.records)
      .map(([k, v]) => `${k} ${v}`)
      .join(' · ')}`,
    `batches    ${Object.entries(s.batches)
      .map(([k, v]) => `${k} ${v}`)
      .join(' · ')}`,
    `lag        ${(s.lagMs / 1000).toFixed(1)} s`,
    `chain      ${s.chainId} registry ${s.registry} signer ${s.signer}`,
    `dead       provenance ${dead.provenance} · consent ${dead.consent}${
      dead.provenance + dead.consent > 0 ? '  (ehr-bridge retry puts them back)' : ''
    }`,
    '',
    'latest batches:',
    ...s.latestBatches.map(
      (b) =>
        `  #${b.id} ${b.state.padEnd(8)} ${String(b.count).padStart(6)} records  root ${b.root}  tx ${b.txHash ?? '-'}`,
    ),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function retry(args: { url?: string }) {
  const r = await getJson<ApiDeadLetterRetry>(`${bridgeUrl(args.url)}/dead-letters/retry`, {
    method: 'POST',
  });
  process.stdout.write(
    `back in their queues: ${r.provenance} Provenance, ${r.consent} Consent write-backs\n`,
  );
}

async function verify(args: { url?: string; config?: string }, target: string | undefined) {
  const m = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/.exec(target ?? '');
  if (!m) fail('verify needs <Type/id>, e.g. Observation/123');
  const lookup = await getJson<ApiAnchorLookup>(`${bridgeUrl(args.url)}/anchors/${m[1]}/${m[2]}`);
  // With a configuration (file or env) the chain and the content are checked too.
  const cfg =
    args.config || process.env.EHR_BRIDGE_CONFIG || process.env.EHR_BRIDGE_RPC_URL
      ? config(args.config)
      : undefined;
  const app = cfg ? await buildApp({ ...cfg, workers: false, logLevel: 'warn' }) : undefined;
  const keyStore = cfg && existsSync(cfg.keyStoreFile) ? loadKeyStore(cfg.keyStoreFile) : undefined;
  let bad = 0;
  try {
    for (const v of lookup.versions) {
      const checks: string[] = [];
      let ok = v.state === 'anchored' && v.leaf !== null && v.proof !== null && v.batch !== null;
      if (v.leaf && v.proof && v.batch) {
        const leaf = {
          subject: v.leaf.subject,
          resourceType: v.resourceType,
          resourceId: v.resourceId,
          versionId: v.versionId,
          contentHash: v.contentHash,
          payloadCid: v.leaf.payloadCid,
          salt: v.leaf.salt,
        };
        const recomputed = leafHash(leaf);
        const leafOk = recomputed === v.leaf.leafHash;
        const proofOk = verifyProof(recomputed, v.proof as Hex[], v.batch.root);
        checks.push(`leaf ${leafOk ? 'ok' : 'MISMATCH'}`, `proof ${proofOk ? 'ok' : 'INVALID'}`);
        ok &&= leafOk && proofOk;
        if (app) {
          const anchor = await app.chain.anchorOf(v.batch.root);
          const anchoredOk = anchor.timestamp > 0;
          checks.push(
            `on chain ${anchoredOk ? `ok (${new Date(anchor.timestamp * 1000).toISOString()})` : 'NOT ANCHORED'}`,
          );
          ok &&= anchoredOk;
          if (keyStore) {
            const envelope = new Uint8Array(
              await (
                await fetch(`${cfg!.ipfsApiUrl}/api/v0/block/get?arg=${v.leaf.payloadCid}`, {
                  method: 'POST',
                })
              ).arrayBuffer(),
            );
            const key = keyStore.activeKey();
            const plaintext = await openEnvelope(envelope, { aad: recordAad(v), key });
            const hash = await contentHash(JSON.parse(new TextDecoder().decode(plaintext)));
            checks.push(`content ${hash === v.contentHash ? 'ok' : 'CHANGED'}`);
            ok &&= hash === v.contentHash;
          }
        }
      }
      if (!ok) bad++;
      process.stdout.write(
        `${ok ? '✔' : '✖'} ${v.resourceType}/${v.resourceId}/_history/${v.versionId}  ${v.state}  ${checks.join(', ')}\n`,
      );
    }
  } finally {
    await app?.close();
  }
  process.exit(bad === 0 ? 0 : 1);
}

async function keys(sub: string | undefined, args: { file?: string }) {
  if (sub !== 'init' || !args.file) fail('usage: ehr-bridge keys init --file FILE');
  if (existsSync(args.file)) fail(`${args.file} exists; refusing to overwrite keys`);
  loadKeyStore(args.file, true);
  process.stdout.write(`wrote a new key store to ${args.file}\n`);
}

/**
 * `ehr-bridge endpoint set <url>`: the hospital publishes its bridge's public URL and services on
 * chain. The URL is checked as portals check it (https, or http on loopback; no credentials, query
 * or fragment); a refusal of the chain is said in a sentence (e.g. the key is not a hospital's).
 */
async function endpoint(
  sub: string | undefined,
  url: string | undefined,
  args: { config?: string; services?: string },
): Promise<void> {
  if (sub !== 'set' || !url) fail('usage: ehr-bridge endpoint set <url> [--services a,b] [--config FILE]');
  let checked: string;
  try {
    checked = checkEndpointUrl(url);
  } catch (error) {
    fail((error as Error).message);
  }
  let services = ALL_ENDPOINT_SERVICES & ~ENDPOINT_SERVICES.events;
  if (args.services) {
    const names = args.services.split(',').map((s) => s.trim());
    const unknown = names.filter((n) => !(n in ENDPOINT_SERVICES));
    if (unknown.length)
      fail(`unknown service ${unknown.join(', ')} (known: ${Object.keys(ENDPOINT_SERVICES).join(', ')})`);
    services = endpointServiceMask(names as EndpointService[]);
  }
  const keyFile = process.env.EHR_HOSPITAL_KEY_FILE;
  if (!keyFile) fail('set EHR_HOSPITAL_KEY_FILE to the file holding the hospital account’s private key');
  const c = config(args.config);
  const chain = new Chain({
    rpcUrl: c.rpcUrl,
    ...(c.deploymentFile ? { deploymentFile: c.deploymentFile } : {}),
    ...(c.anchorAddress ? { anchorAddress: c.anchorAddress } : {}),
    signerKey: readFileSync(keyFile, 'utf8').trim(),
  });
  try {
    const registry = chain.registry.connect(chain.wallet) as typeof chain.registry;
    const [current, currentServices] = (await chain.registry.getFunction('endpointOf')(
      chain.wallet.address,
    )) as [string, bigint];
    if (current === checked && Number(currentServices) === services) {
      process.stdout.write(`${checked} is already published for ${chain.wallet.address}\n`);
      return;
    }
    try {
      await (await registry.getFunction('setEndpoint')(checked, services)).wait();
    } catch (error) {
      fail(describeContractError(error)?.message ?? (error as Error).message);
    }
    process.stdout.write(
      `published ${checked} (${endpointServices(services).join(', ')}) for hospital ${chain.wallet.address}\n`,
    );
  } finally {
    chain.provider.destroy();
  }
}

export async function main(argv = process.argv.slice(2)): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      config: { type: 'string', short: 'c' },
      source: { type: 'string' },
      since: { type: 'string' },
      types: { type: 'string' },
      'page-size': { type: 'string' },
      anchor: { type: 'boolean' },
      url: { type: 'string' },
      file: { type: 'string' },
      services: { type: 'string' },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    process.stdout.write(HELP);
    return;
  }
  switch (command) {
    case 'start':
      return start(values);
    case 'sync':
      return sync(values);
    case 'status':
      return status(values);
    case 'retry':
      return retry(values);
    case 'verify':
      return verify(values, rest[0]);
    case 'keys':
      return keys(rest[0], values);
    case 'endpoint':
      return endpoint(rest[0], rest[1], values);
    default:
      fail(`unknown command ${command} (see --help)`);
  }
}

if (process.argv[1] && /cli\.(ts|js)$/.test(process.argv[1])) {
  main().catch((error: unknown) => fail(error instanceof Error ? error.message : String(error)));
}
