/**
 * The bridge part of `npm start`: a bridge with its SQLite outbox under `.data/bridge/`, signing
 * anchors as dev hospital A's bridge signer, then the Synthea fixtures loaded through it — the
 * real way when a FHIR server is up (a REST-hook Subscription pointing at the bridge, bundles
 * loaded into the server), else by POSTing the bundles to the bridge directly.
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
import type { StackContext, StackUp } from './context.js';

/** Shared secret of the dev source (loopback only; as public as the dev keys). */
export const DEV_SOURCE_SECRET = 'ehr-anchor-dev-source-secret';

/** The demo portal's origins (`http://127.0.0.1:<port>`, `http://localhost:<port>`) when its port is fixed. */
function demoOrigins(): { siweDomains?: string[] } {
  const port = Number(process.env.EHR_DEMO_PORT ?? 5173);
  if (!Number.isInteger(port) || port <= 0) return {};
  return { siweDomains: [`http://127.0.0.1:${port}`, `http://localhost:${port}`] };
}

export const up: StackUp = async (ctx) => {
  const { rpcUrl, ipfsApiUrl, deploymentFile, fhirBaseUrl } = ctx.values;
  if (!rpcUrl || !ipfsApiUrl || !deploymentFile)
    throw new Error('bridge: needs rpcUrl, ipfsApiUrl and deploymentFile from earlier parts');
  const dir = join(ctx.dataDir, 'bridge');
  mkdirSync(dir, { recursive: true });
  const config = parseConfig({
    host: '127.0.0.1',
    port: process.env.EHR_BRIDGE_PORT ?? 8787,
    logLevel: process.env.EHR_BRIDGE_LOG_LEVEL ?? 'warn',
    outbox: `sqlite:${join(dir, 'outbox.db')}`,
    ipfsApiUrl,
    rpcUrl,
    deploymentFile,
    signerKey: DEV_KEYS.bridgeA,
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
  ctx.values.bridgeUrl = bridge.url;
  ctx.values.bridgeSourceSecret = DEV_SOURCE_SECRET;
  ctx.row({
    name: 'bridge',
    url: bridge.url,
    note: `push: POST /fhir (Bearer ${DEV_SOURCE_SECRET}); /openapi.json /status /metrics`,
  });

  try {
    await loadFixtures(ctx, bridge, fhirBaseUrl);
  } catch (error) {
    // The part failed: stop what it started, the stack stops the earlier parts.
    await bridge.close();
    throw error;
  }
  return { stop: () => bridge.close() };
};

/** The Synthea fixtures, once per outbox: through the FHIR server when there is one, else POSTed directly. */
async function loadFixtures(
  ctx: StackContext,
  bridge: RunningBridge,
  fhirBaseUrl: string | undefined,
): Promise<void> {
  const loaded = await bridge.app.outbox.getState('stack:fixtures');
  if (loaded) {
    ctx.log(`bridge: fixtures already loaded (${loaded})`);
  } else if (fhirBaseUrl) {
    ctx.log(
      'bridge: REST-hook Subscription on the FHIR server → bridge, then loading Synthea into the FHIR server',
    );
    await createRestHookSubscription(fhirBaseUrl, `${bridge.url}/fhir`, [
      `Authorization: Bearer ${DEV_SOURCE_SECRET}`,
    ]);
    // PUT mode: loading again on a later `npm start` changes nothing and pushes nothing.
    const report = await loadSyntheaIntoHapi(fhirBaseUrl, loadSyntheaBundles(), { mode: 'put' });
    ctx.log(
      `bridge: ${report.resources} Synthea resources loaded into the FHIR server; it pushes them to the bridge`,
    );
    await bridge.app.outbox.setState('stack:fixtures', `via FHIR server ${new Date().toISOString()}`);
  } else {
    let versions = 0;
    for (const [, bundle] of loadSyntheaBundles()) {
      const response = await fetch(`${bridge.url}/fhir`, {
        method: 'POST',
        headers: { authorization: `Bearer ${DEV_SOURCE_SECRET}`, 'content-type': 'application/fhir+json' },
        body: JSON.stringify(bundle),
      });
      if (response.status !== 202) throw new Error(`bridge refused a fixture bundle: ${response.status}`);
      versions += bundle.entry?.length ?? 0;
    }
    await bridge.app.outbox.setState('stack:fixtures', `posted directly ${new Date().toISOString()}`);
    ctx.log(`bridge: ${versions} Synthea resource versions pushed; anchoring in batches`);
  }
}
