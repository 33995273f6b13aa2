/**
 * Decorates the app with the services routes and workers share: the outbox, the key store, IPFS,
 * the chain, the ingestor and the pipeline. Opened here, closed on `app.close()` in reverse order.
 */
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { readFileSync } from 'node:fs';
import type { BridgeConfig } from '../config.js';
import { Ingestor } from '../ingest/service.js';
import { loadKeyStore, type KeyStore } from '../keys/keystore.js';
import type { BridgeMetrics } from '../metrics.js';
import { AtRestKeys, SealedOutbox, openOutbox, type Outbox } from '../outbox/index.js';
import { Chain } from '../pipeline/chain.js';
import { IpfsStore } from '../pipeline/ipfs.js';
import { Pipeline } from '../pipeline/pipeline.js';

declare module 'fastify' {
  interface FastifyInstance {
    config: BridgeConfig;
    metrics: BridgeMetrics;
    outbox: Outbox;
    keyStore: KeyStore;
    ipfs: IpfsStore;
    chain: Chain;
    ingestor: Ingestor;
    pipeline: Pipeline;
  }
}

export interface ServiceOverrides {
  outbox?: Outbox;
  keyStore?: KeyStore;
}

export const servicesPlugin = fp(async (app: FastifyInstance, overrides: ServiceOverrides) => {
  const config = app.config;
  const keyStore = overrides.keyStore ?? loadKeyStore(config.keyStoreFile, config.createKeys);
  // The bridge's own view of the outbox: no id or body in clear at rest (outbox/sealed.ts).
  let outbox: Outbox;
  if (!overrides.outbox) outbox = await openOutbox(config.outbox, keyStore.pseudonymKey());
  else if (overrides.outbox instanceof SealedOutbox) outbox = overrides.outbox;
  else {
    outbox = new SealedOutbox(overrides.outbox, new AtRestKeys(keyStore.pseudonymKey()));
    await outbox.init();
  }
  const signerKey = config.signerKey ?? readFileSync(config.signerKeyFile!, 'utf8').trim();
  const chain = new Chain({
    rpcUrl: config.rpcUrl,
    deploymentFile: config.deploymentFile,
    anchorAddress: config.anchorAddress,
    signerKey,
  });
  const ipfs = new IpfsStore(config.ipfsApiUrl, {
    peers: config.ipfsPeers,
    factor: config.ipfsReplication ?? (config.ipfsPeers.length > 0 ? 2 : 1),
    pinName: config.ipfsPinName ?? `ehr-anchor/${chain.wallet.address.toLowerCase()}`,
    sweepIntervalMs: config.ipfsSweepMs,
    pinTimeoutMs: 300_000,
    log: app.log,
  });
  const ingestor = new Ingestor({
    outbox,
    keyStore,
    metrics: app.metrics,
    log: app.log,
    onQueued: () => pipeline.wake(),
  });
  const pipeline: Pipeline = new Pipeline(
    { outbox, ipfs, chain, keyStore, metrics: app.metrics, log: app.log, ingestor },
    {
      batchMax: config.batchMax,
      batchMaxMs: config.batchMaxMs,
      storeChunk: Math.min(config.storeChunk, config.batchMax),
      storeConcurrency: config.storeConcurrency,
      sealWorkers: config.sealWorkers,
      retryBaseMs: config.retryBaseMs,
      retryMaxMs: config.retryMaxMs,
      provenanceSources: config.sources.filter((s) => s.provenance && s.fhirBaseUrl),
      writeBack: config.writeBack,
    },
  );
  if (outbox instanceof SealedOutbox)
    outbox.onUnreadable = (seq) => {
      app.metrics.stepErrors.inc({ step: 'store' });
      app.log.error(
        { seq },
        'outbox record does not open (altered at rest?): left out, tried again after its lease',
      );
    };
  app.decorate('outbox', outbox);
  app.decorate('keyStore', keyStore);
  app.decorate('chain', chain);
  app.decorate('ipfs', ipfs);
  app.decorate('ingestor', ingestor);
  app.decorate('pipeline', pipeline);
  if (config.workers)
    app.addHook('onReady', async () => {
      ipfs.replicator?.start();
      await pipeline.start();
    });
  app.addHook('onClose', async () => {
    await pipeline.stop();
    await ipfs.replicator?.stop();
    await ingestor.pollsSettled();
    chain.destroy();
    if (!overrides.outbox) await outbox.close();
  });
});
