/**
 * Every push shape over real HTTP into a real bridge (SQLite outbox, Kubo, anvil): each version
 * anchored once, its proof verifies against the on-chain root, its envelope on IPFS opens to the
 * exact resource.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { openEnvelope, recordAad, verifyRecord, type Hex } from '@ehr-anchor/core';
import { RECEIPT_SYSTEMS } from '@ehr-anchor/core/api';
import { loadSyntheaBundles } from '@ehr-anchor/testkit';
import type { Bundle } from 'fhir/r4';
import { loadKeyStore } from '../src/keys/keystore.js';
import { BEARER, bridgeFor, hmacHeaders, push, startEnv, waitAnchored, type Env } from './helpers.js';

const run = promisify(execFile);

describe('bridge ingest → anchored (real Kubo + anvil)', () => {
  let env: Env;
  let bridge: Awaited<ReturnType<typeof bridgeFor>>;
  const bundles = loadSyntheaBundles();
  const tiny = bundles.get('tiny-clemente-kreiger.json')!;

  before(async () => {
    env = await startEnv();
    bridge = await bridgeFor(env, 'push');
  });
  after(async () => {
    await bridge?.app.close();
    await env?.stop();
  });

  it('anchors every resource of a Synthea transaction Bundle once, with proofs that verify on chain', async () => {
    const res = await push(bridge.url, '/fhir', tiny);
    assert.equal(res.status, 202);
    assert.equal(res.body.resourceType, 'OperationOutcome');
    assert.equal(res.body.issue.length, tiny.entry!.length);
    assert.ok(
      res.body.issue.every((i) =>
        i.details?.coding?.some((c) => c.system === RECEIPT_SYSTEMS.disposition && c.code === 'queued'),
      ),
    );
    await waitAnchored(bridge.app, tiny.entry!.length);

    const replay = await push(bridge.url, '/fhir', tiny);
    assert.equal(replay.status, 202);
    assert.ok(
      replay.body.issue.every((i) => i.details?.coding?.some((c) => c.code === 'duplicate')),
      'a replay is reported as duplicate',
    );
    const counts = await bridge.app.outbox.counts();
    assert.equal(counts.records.anchored, tiny.entry!.length, 'replay anchored nothing new');

    // Verify a few records end to end: IPFS envelope → decrypt → verifyRecord against chain.
    const keyStore = loadKeyStore(bridge.config.keyStoreFile);
    for (const entry of tiny.entry!.slice(0, 5)) {
      const resource = entry.resource!;
      const lookup = (await (
        await fetch(`${bridge.url}/anchors/${resource.resourceType}/${resource.id}`, {
          headers: { authorization: `Bearer ${BEARER}` },
        })
      ).json()) as {
        versions: {
          versionId: string;
          contentHash: Hex;
          state: string;
          leaf: { subject: Hex; payloadCid: string; salt: Hex };
          proof: Hex[];
          batch: { root: Hex; txHash: string };
        }[];
      };
      const v = lookup.versions[0]!;
      assert.equal(v.state, 'anchored');
      const envelope = new Uint8Array(
        await (await fetch(`${env.kubo.gatewayUrl}/ipfs/${v.leaf.payloadCid}`)).arrayBuffer(),
      );
      const plaintext = await openEnvelope(envelope, {
        aad: recordAad({
          resourceType: resource.resourceType,
          resourceId: resource.id!,
          versionId: v.versionId,
        }),
        key: keyStore.activeKey(),
      });
      const opened = JSON.parse(new TextDecoder().decode(plaintext)) as typeof resource;
      assert.deepEqual(opened, resource);
      const result = await verifyRecord({
        resource: opened,
        leaf: {
          subject: v.leaf.subject,
          resourceType: resource.resourceType,
          resourceId: resource.id!,
          versionId: v.versionId,
          contentHash: v.contentHash,
          payloadCid: v.leaf.payloadCid,
          salt: v.leaf.salt,
        },
        proof: v.proof,
        root: v.batch.root,
        subject: v.leaf.subject,
        // The hospital whose bridge this is, as the chain maps its signer.
        hospital: (await bridge.app.chain.registry.getFunction('hospitalOfSigner')(
          bridge.app.chain.signerAddress,
        )) as string,
        anchoredBy: async (root) => {
          const [hospital, timestamp] = (await bridge.app.chain.registry.getFunction('anchorOf')(root)) as [
            string,
            bigint,
          ];
          return timestamp > 0n ? hospital : null;
        },
      });
      assert.equal(result.status, 'verified');
    }
  });

  it(
    '`ehr-bridge verify Type/id` checks leaf, proof, on-chain anchor and decrypted content',
    { timeout: 120_000 },
    async () => {
      const obs = tiny.entry!.find((e) => e.resource?.resourceType === 'Observation')!.resource!;
      const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
      // Asynchronous: the bridge answering the CLI runs in this very process.
      const result = await run(
        process.execPath,
        [
          '--conditions=source',
          '--import',
          import.meta.resolve('tsx'),
          cli,
          'verify',
          `Observation/${obs.id}`,
          '--url',
          bridge.url,
        ],
        {
          encoding: 'utf8',
          // Relative default paths (e.g. the read side's store) land in the test's temp dir.
          cwd: bridge.dir,
          env: {
            ...process.env,
            EHR_BRIDGE_OUTBOX: `sqlite:${bridge.dir}/verify-cli.db`,
            EHR_BRIDGE_IPFS_API_URL: env.kubo.apiUrl,
            EHR_BRIDGE_RPC_URL: env.chain.anvil.rpcUrl,
            EHR_BRIDGE_DEPLOYMENT_FILE: env.chain.deploymentFile,
            EHR_BRIDGE_SIGNER_KEY: bridge.config.signerKey,
            EHR_BRIDGE_KEY_STORE: bridge.config.keyStoreFile,
            EHR_BRIDGE_SOURCES: JSON.stringify(bridge.config.sources),
            EHR_BRIDGE_LOG_LEVEL: 'silent',
            // /anchors is for operators: a source's bearer secret is an operator credential.
            EHR_BRIDGE_TOKEN: BEARER,
          },
        },
      );
      assert.match(
        result.stdout,
        /✔ Observation\/.+ anchored {2}leaf ok, proof ok, on chain ok \(.+\), content ok/,
      );
    },
  );

  it('takes REST-hook PUT, POST and DELETE of single resources (bearer) and HMAC-signed pushes', async () => {
    const small = bundles.get('small-louis-erdman.json')!;
    const obs = small.entry!.find((e) => e.resource?.resourceType === 'Observation')!.resource!;
    const cond = small.entry!.find((e) => e.resource?.resourceType === 'Condition')!.resource!;
    const withVersion = { ...obs, meta: { versionId: '3', lastUpdated: '2024-01-01T00:00:00Z' } };
    assert.equal(
      (await push(bridge.url, `/fhir/Observation/${obs.id}`, withVersion, { method: 'PUT' })).status,
      202,
    );
    assert.equal((await push(bridge.url, '/fhir/Condition', cond)).status, 202);
    const body = JSON.stringify({ ...cond, meta: { versionId: '2' } });
    assert.equal(
      (
        await push(bridge.url, `/fhir/Condition/${cond.id}`, body, {
          method: 'PUT',
          headers: hmacHeaders(body),
        })
      ).status,
      202,
    );
    const del = await push(bridge.url, `/fhir/Observation/${obs.id}`, undefined, { method: 'DELETE' });
    assert.equal(del.status, 202);
    assert.ok(del.body.issue[0]!.location![0]!.endsWith('/_history/deleted'));
    await waitAnchored(bridge.app, tiny.entry!.length + 4);
    const versions = await bridge.app.outbox.versions('Observation', obs.id!);
    assert.deepEqual(
      versions.map((v) => v.versionId),
      ['deleted', '3'],
    );
    assert.ok(versions.every((v) => v.state === 'anchored'));
    assert.equal(versions[0]!.subject, versions[1]!.subject, 'the tombstone keeps the patient subject');
  });

  it('answers handshake and heartbeat notifications without queuing, and anchors full-resource event notifications', async () => {
    const subscription = { reference: 'Subscription/ehr-anchor' };
    const status = (type: string, focus?: string) => ({
      resourceType: 'SubscriptionStatus',
      status: 'active',
      type,
      subscription,
      topic: 'http://example.org/topic/any-change',
      ...(focus ? { notificationEvent: [{ eventNumber: '1', focus: { reference: focus } }] } : {}),
    });
    for (const type of ['handshake', 'heartbeat']) {
      const res = await push(bridge.url, '/fhir', {
        resourceType: 'Bundle',
        type: 'subscription-notification',
        entry: [{ resource: status(type) }],
      });
      assert.equal(res.status, 200);
      assert.equal(
        res.raw.resourceType,
        'Bundle',
        'a notification is answered with a Bundle (batch-response)',
      );
      assert.match(res.body.issue[0]!.diagnostics!, new RegExp(`${type} acknowledged`));
    }
    const medium = bundles.get('medium-dennis-durgan.json')!;
    const enc = medium.entry!.find((e) => e.resource?.resourceType === 'Encounter')!.resource!;
    const fullUrl = `http://hapi.example/fhir/Encounter/${enc.id}`;
    const notification: Bundle = {
      resourceType: 'Bundle',
      type: 'history', // R4B backport shape
      entry: [
        { resource: status('event-notification', `Encounter/${enc.id}/_history/1`) as never },
        {
          fullUrl,
          resource: { ...enc, meta: { versionId: '1' } },
          request: { method: 'PUT', url: `Encounter/${enc.id}` },
          response: { status: '200' },
        },
      ],
    };
    const first = await push(bridge.url, '/fhir', notification);
    assert.equal(first.status, 202);
    // Real servers resend events (and renumber them): dedupe is by version, not event number.
    const again = await push(bridge.url, '/fhir', notification);
    assert.equal(
      again.body.issue[0]!.details!.coding!.find((c) => c.system === RECEIPT_SYSTEMS.disposition)!.code,
      'duplicate',
    );
    await waitAnchored(bridge.app, tiny.entry!.length + 5);
    assert.equal((await bridge.app.outbox.versions('Encounter', enc.id!)).length, 1);
  });

  it('refuses missing or wrong credentials with 401 and writes nothing', async () => {
    const before = (await bridge.app.outbox.counts()).records;
    const obs = tiny.entry![1]!.resource!;
    const none = await push(bridge.url, '/fhir/Organization', obs, {
      headers: { 'content-type': 'application/fhir+json' },
    });
    assert.equal(none.status, 401);
    assert.equal(none.body.resourceType, 'OperationOutcome');
    const wrong = await push(bridge.url, '/fhir/Organization', obs, {
      headers: { authorization: 'Bearer nope-nope-nope-nope', 'content-type': 'application/fhir+json' },
    });
    assert.equal(wrong.status, 401);
    const body = JSON.stringify(obs);
    const tampered = await push(bridge.url, '/fhir/Organization', body.replace('"', ' "'), {
      headers: hmacHeaders(body),
    });
    assert.equal(tampered.status, 401, 'a signature over other bytes does not verify');
    assert.deepEqual((await bridge.app.outbox.counts()).records, before);
  });
});
