/**
 * The bridge part of `npm start`: one bridge per hospital, each with its SQLite outbox and key store
 * under `.data/bridge` (B: `.data/bridge-b`), signing anchors as that hospital's bridge signer,
 * storing on its own Kubo node and pinning copies on the other hospital's node (replication 2),
 * then that hospital's Synthea fixtures loaded through it — the real way when its FHIR server is
 * up (a REST-hook Subscription pointing at the bridge, bundles loaded into the server), else by
 * POSTing the bundles to the bridge directly. With two hospitals the patients are split between
 * them, two of them seen at both (src/hospital-fixtures.ts). Once a bridge listens, its hospital
 * publishes the bridge's URL on chain (`setEndpoint`, signed with the hospital's dev key), so portals
 * find every hospital's bridge from chain state.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig, startServer, type RunningBridge } from '@ehr-anchor/fhir-bridge';
import {
  DEV_KEYS,
  createRestHookSubscription,
  loadSyntheaBundles,
  loadSyntheaIntoHapi,
} from '@ehr-anchor/testkit';
import { chainProvider } from '@ehr-anchor/contracts/deploy';
import type { Bundle } from 'fhir/r4';
import { ensureDevNetwork } from './contracts.js';
import type { StackContext, StackPart, StackUp } from './context.js';
import { bundlesFor } from './hospital-fixtures.js';
import { portOf, sitesOf, valueKey, type Site } from './sites.js';

/** Shared secret of the dev source (loopback only; as public as the dev keys). */
export const DEV_SOURCE_SECRET = 'ehr-anchor-dev-source-secret';

/** The demo portal's origins (`http://127.0.0.1:<port>`, `http://localhost:<port>`) when its port is fixed. */
function demoOrigins(): { siweDomains?: string[] } {
  const port = Number(process.env.EHR_DEMO_PORT ?? 5173);
  if (!Number.isInteger(port) || port <= 0) return {};
  return { siweDomains: [`http://127.0.0.1:${port}`, `http://localhost:${port}`] };
}

async function startBridge(ctx: StackContext, site: Site, peers: string[]): Promise<RunningBridge> {
  const { rpcUrl, deploymentFile } = ctx.values;
  const ipfsApiUrl = ctx.values[valueKey(site, 'ipfsApiUrl')];
  const fhirBaseUrl = ctx.values[valueKey(site, 'fhirBaseUrl')];
  if (!rpcUrl || !ipfsApiUrl || !deploymentFile)
    throw new Error(
      `bridge ${site.letter}: needs rpcUrl, its ipfsApiUrl and deploymentFile from earlier parts`,
    );
  const dir = join(ctx.dataDir, `bridge${site.dir}`);
  mkdirSync(dir, { recursive: true });
  const config = parseConfig({
    host: '127.0.0.1',
    port: portOf(site, 'EHR_BRIDGE_PORT', 8787),
    logLevel: process.env.EHR_BRIDGE_LOG_LEVEL ?? 'warn',
    outbox: `sqlite:${join(dir, 'outbox.db')}`,
    ipfsApiUrl,
    ipfsPeers: peers,
    rpcUrl,
    deploymentFile,
    signerKey: DEV_KEYS[site.bridgeKey],
    keyStoreFile: join(dir, 'keys.json'),
    createKeys: true,
    batchMax: 1000,
    batchMaxMs: 1000,
    sources: [
      {
        id: 'dev',
        auth: { type: 'bearer', secret: DEV_SOURCE_SECRET },
        ...(fhirBaseUrl ? { fhirBaseUrl, provenance: true } : {}),
      },
    ],
    read: {
      // The read side writes to the same FHIR server: doctors' clinical entries, the patient's
      // contact edits and the mirrored Consent resources.
      ...(fhirBaseUrl ? { fhirBaseUrl } : {}),
      // Sign-in and CORS for the demo portal's origin when its port is fixed (an OS-chosen port,
      // EHR_DEMO_PORT=0, leaves the loopback default: any loopback origin).
      ...demoOrigins(),
    },
  });
  const bridge = await startServer(config);
  // The hospital publishes where its bridge answers (setEndpoint, signed with the hospital's key):
  // portals find every hospital's bridge from chain state.
  const registry = ctx.values.ehrRegistryAddress;
  if (registry) {
    const provider = chainProvider(rpcUrl);
    try {
      const done = await ensureDevNetwork(provider, registry, { [site.key]: bridge.url });
      if (done.length) ctx.log(`bridge ${site.letter}: ${done.join(', ')}`);
    } catch (error) {
      await bridge.close();
      throw error;
    } finally {
      provider.destroy();
    }
  }
  ctx.values[valueKey(site, 'bridgeUrl')] = bridge.url;
  ctx.values[valueKey(site, 'bridgeKeyStoreFile')] = config.keyStoreFile;
  return bridge;
}

/** What the bridge part started: the running bridges in site order (A, then B), and how to stop them. */
export interface BridgesPart extends StackPart {
  bridges: RunningBridge[];
  stop(): Promise<void>;
}

/** Starts one bridge per hospital of the stack and loads each one's fixtures (the part's `up`). */
export async function startBridges(ctx: StackContext): Promise<BridgesPart> {
  const sites = sitesOf(ctx.values);
  const ipfsOf = (s: Site) => ctx.values[valueKey(s, 'ipfsApiUrl')];
  const bridges: RunningBridge[] = [];
  const stop = async () => void (await Promise.all(bridges.map((b) => b.close())));
  try {
    for (const site of sites) {
      const peers = sites.filter((s) => s !== site).flatMap((s) => (ipfsOf(s) ? [ipfsOf(s)!] : []));
      const bridge = await startBridge(ctx, site, peers);
      bridges.push(bridge);
      ctx.row({
        name: sites.length > 1 ? `bridge ${site.letter}` : 'bridge',
        url: bridge.url,
        note: `push: POST /fhir (Bearer ${DEV_SOURCE_SECRET}); /openapi.json /status /metrics${peers.length ? '; copies on the other IPFS node' : ''}`,
      });
    }
    ctx.values.bridgeSourceSecret = DEV_SOURCE_SECRET;
    const load = new Map(loadSyntheaBundles());
    const perHospital = bundlesFor(sites.length as 1 | 2, (sample) => {
      const bundle = load.get(sample);
      if (!bundle) throw new Error(`no sample bundle ${sample}`);
      return bundle;
    });
    for (const [i, site] of sites.entries())
      await loadFixtures(
        ctx,
        site,
        bridges[i]!,
        perHospital[site.key],
        ctx.values[valueKey(site, 'fhirBaseUrl')],
      );
  } catch (error) {
    // The part failed: stop what it started, the stack stops the earlier parts.
    await stop();
    throw error;
  }
  return { bridges, stop };
}

export const up: StackUp = startBridges;

/** A hospital's fixtures, once per outbox: through its FHIR server when there is one, else POSTed directly. */
async function loadFixtures(
  ctx: StackContext,
  site: Site,
  bridge: RunningBridge,
  bundles: { sample: string; bundle: Bundle }[],
  fhirBaseUrl: string | undefined,
): Promise<void> {
  const name = `bridge ${site.letter}`;
  const loaded = await bridge.app.outbox.getState('stack:fixtures');
  if (loaded) {
    ctx.log(`${name}: fixtures already loaded (${loaded})`);
  } else if (fhirBaseUrl) {
    ctx.log(
      `${name}: REST-hook Subscription on its FHIR server → bridge, then loading its Synthea patients into that server`,
    );
    await createRestHookSubscription(fhirBaseUrl, `${bridge.url}/fhir`, [
      `Authorization: Bearer ${DEV_SOURCE_SECRET}`,
    ]);
    // PUT mode: loading again on a later `npm start` changes nothing and pushes nothing.
    const report = await loadSyntheaIntoHapi(fhirBaseUrl, new Map(bundles.map((b) => [b.sample, b.bundle])), {
      mode: 'put',
    });
    ctx.log(
      `${name}: ${report.resources} Synthea resources loaded into its FHIR server; it pushes them to the bridge`,
    );
    await bridge.app.outbox.setState('stack:fixtures', `via FHIR server ${new Date().toISOString()}`);
  } else {
    let versions = 0;
    for (const { bundle } of bundles) {
      const response = await fetch(`${bridge.url}/fhir`, {
        method: 'POST',
        headers: { authorization: `Bearer ${DEV_SOURCE_SECRET}`, 'content-type': 'application/fhir+json' },
        body: JSON.stringify(bundle),
      });
      if (response.status !== 202) throw new Error(`${name} refused a fixture bundle: ${response.status}`);
      versions += bundle.entry?.length ?? 0;
    }
    await bridge.app.outbox.setState('stack:fixtures', `posted directly ${new Date().toISOString()}`);
    ctx.log(`${name}: ${versions} Synthea resource versions pushed; anchoring in batches`);
  }
}
