/**
 * IPFS as a network: a bridge on a real two-node private IPFS network (testkit startCluster) pins
 * every root on its own node and on the peer, under its pin name; with its own node killed
 * (SIGKILL) every anchored record is still fetched from the replica, opened and verified; the
 * sweep re-pins what a node lost; erasure reaches every copy or does nothing.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadSyntheaBundles, startCluster, waitFor, type KuboCluster } from '@ehr-anchor/testkit';
import { ConfigError } from '../src/config.js';
import { ReplicationError, recursivePins } from '../src/pipeline/replication.js';
import { buildApp } from '../src/app.js';
import { push, startChain, testConfig, waitAnchored, type Chain } from './helpers.js';

const PIN_NAME = 'ehr-anchor/test-hospital-a';

describe('replication across the hospitals’ IPFS nodes (real Kubo network)', () => {
  let dir: string;
  let chain: Chain;
  let cluster: KuboCluster;
  let app: Awaited<ReturnType<typeof buildApp>>;
  const bundles = loadSyntheaBundles();
  const tiny = bundles.get('tiny-clemente-kreiger.json')!;
  const small = bundles.get('small-louis-erdman.json')!;
  let url: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ehr-replication-'));
    [chain, cluster] = await Promise.all([startChain(dir), startCluster({ nodes: 2 })]);
    const config = testConfig(
      join(dir, 'a'),
      { rpcUrl: chain.anvil.rpcUrl, deploymentFile: chain.deploymentFile },
      cluster.nodes[0]!.apiUrl,
      {
        ipfsPeers: [cluster.nodes[1]!.apiUrl],
        ipfsPinName: PIN_NAME,
        ipfsSweepMs: 0,
        storeChunk: 20,
        // Retries stay quick while the own node is down.
        retryMaxMs: 500,
      },
    );
    app = await buildApp(config);
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  after(async () => {
    await app?.close();
    await Promise.all([chain?.anvil.stop(), cluster?.stop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const replicator = () => app.ipfs.replicator!;
  const idle = () => waitFor(() => replicator().pending === 0, { what: 'replication to finish' });
  const manifests = async () => (await app.outbox.listBatches(1_000)).map((b) => b.manifestCid);

  it('pins every chunk root and manifest on the peer node too, under the bridge’s pin name', async () => {
    assert.equal(replicator().factor, 2, 'two copies by default when a peer is configured');
    assert.equal((await push(url, '/fhir', tiny)).status, 202);
    await waitAnchored(app, tiny.entry!.length);
    await idle();
    const [local, peer] = await Promise.all(cluster.nodes.map((n) => recursivePins(n.apiUrl)));
    for (const cid of await manifests()) {
      assert.equal(local!.has(cid), true, `manifest ${cid} pinned on the own node`);
      assert.equal(peer!.get(cid), PIN_NAME, `manifest ${cid} pinned on the peer under the pin name`);
    }
    const ours = [...peer!].filter(([, name]) => name === PIN_NAME);
    // 70 records in chunks of 20 → 4 chunk roots, plus one manifest per batch.
    assert.ok(ours.length >= 4 + (await manifests()).length, `${ours.length} roots on the peer`);
    const report = await replicator().sweep();
    assert.equal(report.underReplicated, 0);
    assert.equal(report.repinned, 0, 'nothing left for the sweep');
    assert.deepEqual(Object.keys(report.copies), ['2'], 'every root has exactly two copies');
  });

  it('reads, opens and verifies every anchored record from the replica while its own node is killed', async () => {
    const count = (await app.outbox.counts()).records.anchored;
    assert.ok(count > 0, 'records were anchored');
    await cluster.kill(0);
    const infos = await app.outbox.bySeq(Array.from({ length: count }, (_, i) => i + 1));
    assert.equal(infos.length, count);
    for (const info of infos) {
      const read = await app.read.side.records.read(info);
      assert.equal(read.state, 'anchored');
      assert.equal(read.resource.resourceType, info.resourceType);
      assert.ok(read.anchor, 'verified against its anchor on chain');
    }
  });

  it('keeps accepting pushes while its node is down and anchors them, replicated, once it is back', async () => {
    const before = (await app.outbox.counts()).records.anchored;
    assert.equal((await push(url, '/fhir', small)).status, 202, 'the outbox takes the push');
    const storeErrors = async () =>
      (await app.metrics.stepErrors.get()).values.find((v) => v.labels.step === 'store')?.value ?? 0;
    const failed = await storeErrors();
    await waitFor(async () => (await storeErrors()) > failed, { what: 'a store step to fail without IPFS' });
    assert.equal((await app.outbox.counts()).records.anchored, before, 'nothing anchored without IPFS');
    await cluster.restart(0);
    await waitAnchored(app, before + small.entry!.length);
    await idle();
    const report = await replicator().sweep();
    assert.equal(report.underReplicated, 0);
    assert.deepEqual(Object.keys(report.copies), ['2']);
  });

  it('re-pins a root the own node lost from the copy on the peer', async () => {
    const [cid] = await manifests();
    const node = cluster.nodes[0]!;
    await node.cli(['pin', 'rm', cid!]);
    await node.cli(['repo', 'gc']);
    assert.equal((await recursivePins(node.apiUrl)).has(cid!), false);
    const report = await replicator().sweep();
    assert.equal(report.repinned, 1);
    assert.equal((await recursivePins(node.apiUrl)).get(cid!), PIN_NAME, 'back on the own node');
    assert.equal(report.underReplicated, 0);
  });

  it('erases from every node, or from none when a node holding copies does not answer', async () => {
    const [info] = await app.outbox.bySeq([1]);
    const envelope = info!.cid!;
    const has = async (i: number) =>
      (await cluster.nodes[i]!.cli(['refs', 'local'])).split('\n').includes(envelope);
    assert.equal(await has(1), true, 'the peer holds the envelope');

    await cluster.kill(1);
    let marked = false;
    await assert.rejects(
      app.ipfs.removeEverywhere([envelope], () => {
        marked = true;
      }),
      (error: unknown) => error instanceof ReplicationError && error.unreachable.length === 1,
    );
    assert.equal(marked, false, 'nothing was marked erased');
    assert.equal(await has(0), true, 'nothing was removed');

    await cluster.restart(1);
    const removed = await app.ipfs.removeEverywhere([envelope], () => {
      marked = true;
    });
    assert.equal(marked, true);
    assert.ok(removed >= 2, `${removed} blocks removed`);
    assert.equal(await has(0), false);
    assert.equal(await has(1), false);
    const report = await replicator().sweep();
    assert.equal(report.underReplicated, 0, 'the rewritten roots are replicated');
    assert.equal(await has(0), false, 'the sweep brought nothing back');
    assert.equal(await has(1), false);
  });

  it('refuses a replication factor the configured peers cannot hold, and itself as a peer', () => {
    const [a, b] = cluster.nodes.map((n) => n.apiUrl);
    const refused = (over: Parameters<typeof testConfig>[3], reason: RegExp) =>
      assert.throws(
        () => testConfig(dir, { rpcUrl: chain.anvil.rpcUrl, deploymentFile: chain.deploymentFile }, a!, over),
        (error: unknown) => error instanceof ConfigError && reason.test(error.message),
      );
    refused({ ipfsPeers: [b!], ipfsReplication: 3 }, /ipfsReplication: 3 copies need at least 2 ipfsPeers/);
    refused({ ipfsPeers: [a!] }, /ipfsPeers: each peer must be another node than ipfsApiUrl/);
  });
});
