/**
 * Builds the read side from the services the app already has (outbox, key store, IPFS, chain,
 * pipeline) plus its own (`config.read`): the read store, SIWE sessions, the patient search index
 * and the consent mirror. Registered once before the read route plugins (see ROUTES in app.ts).
 */
import { fromHex, type Hex } from '@ehr-anchor/core';
import cors from '@fastify/cors';
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { ChainReader, inRequestScope } from './chain.js';
import { ConsentMirror } from './consent-mirror.js';
import { ReadSide } from './context.js';
import { PatientIndex } from './patient-index.js';
import { isLoopbackHost } from '../config.js';
import { LOOPBACK_ORIGIN, SessionIssuer } from './session.js';
import { ReadStore } from './store.js';

export interface ReadServices {
  side: ReadSide;
  store: ReadStore;
  index: PatientIndex;
  mirror: ConsentMirror;
  chain: ChainReader;
}

declare module 'fastify' {
  interface FastifyInstance {
    read: ReadServices;
  }
}

/** The read store beside a SQLite outbox (same directory, `.read.db`), else in the working directory. */
export function defaultStorePath(outbox: string): string {
  if (!outbox.startsWith('sqlite:')) return './ehr-bridge-read.db';
  const path = outbox.slice('sqlite:'.length);
  return path === ':memory:' ? ':memory:' : `${path}.read.db`;
}

export const readSidePlugin = fp(
  async (app: FastifyInstance) => {
    const config = app.config.read;
    let known: number | undefined;
    const chainId = async () => (known ??= await app.chain.chainId());
    const chain = new ChainReader(
      app.chain.provider,
      app.chain.address,
      config.fromBlock,
      config.consentCache,
    );
    // Each request reads the chain at one block, the newest as of its arrival (read/chain.ts).
    app.addHook('onRequest', (_req, _reply, done) => inRequestScope(done));
    const store = new ReadStore(config.store ?? defaultStorePath(app.config.outbox));
    // Sign-in origins: configured ones; on loopback without any, the configured CORS origins, the
    // bridge's own and any loopback origin (development). Never the request's Host header.
    const loopback = isLoopbackHost(app.config.host);
    const ownOrigins = (): string[] => {
      const address = app.server.address();
      if (!loopback || typeof address !== 'object' || !address) return [];
      return [`http://127.0.0.1:${address.port}`, `http://localhost:${address.port}`];
    };
    const configured = config.siweDomains;
    const sessions = new SessionIssuer({
      chainId,
      origins: () => (configured.length ? configured : [...(config.corsOrigins ?? []), ...ownOrigins()]),
      anyLoopback: loopback && configured.length === 0,
      sessionTtlSec: config.sessionTtlSec,
      provider: app.chain.provider,
      ...(config.sessionSecret ? { secret: fromHex(config.sessionSecret as Hex) } : {}),
    });
    const fhir = config.fhirBaseUrl
      ? { baseUrl: config.fhirBaseUrl, headers: config.fhirHeaders }
      : undefined;
    const side = new ReadSide({
      outbox: app.outbox,
      keyStore: app.keyStore,
      ipfs: app.ipfs.client,
      ipfsApiUrl: app.ipfs.apiUrl,
      ipfsPeers: app.ipfs.peers,
      ipfsRead: (cid, limit) => app.ipfs.catBytes(cid, limit),
      replicate: (cid) => app.ipfs.replicate(cid),
      ipfsRemove: (cids, before) => app.ipfs.removeEverywhere(cids, before),
      chain,
      store,
      sessions,
      bridgeSigner: app.chain.wallet.address,
      chainId,
      log: app.log,
      source: config.source,
      uploadLimit: config.uploadLimit,
      deniedAuditWindowSec: config.deniedAuditWindowSec,
      observe: (stage, seconds) => app.metrics.readStage.observe({ stage }, seconds),
      onQueued: () => app.pipeline.wake(),
      ...(fhir ? { fhir } : {}),
    });
    const index = new PatientIndex({
      outbox: app.outbox,
      store,
      records: side.records,
      keyStore: app.keyStore,
      log: app.log,
    });
    const mirror = new ConsentMirror({
      chain,
      store,
      outbox: app.outbox,
      chainId,
      fromBlock: config.fromBlock,
      log: app.log,
      writeBack: app.config.writeBack,
      ...(fhir ? { fhir } : {}),
      patientIdOf: async (wallet) => {
        for (const subject of await chain.subjectsOf(wallet)) {
          const seq = store.latestPatientSeq(subject);
          if (seq === undefined) continue;
          const [info] = await app.outbox.bySeq([seq]);
          if (info) return info.resourceId;
        }
        return undefined;
      },
    });
    app.decorate('read', { side, store, index, mirror, chain });
    // Browsers call the read API from the portal's origin (the elements); no cookies are used.
    const corsList = new Set(config.corsOrigins ?? configured);
    const corsLoopback = loopback && config.corsOrigins === undefined && configured.length === 0;
    await app.register(cors, {
      origin: (origin, cb) => {
        cb(
          null,
          origin !== undefined && (corsList.has(origin) || (corsLoopback && LOOPBACK_ORIGIN.test(origin))),
        );
      },
      // PATCH: the patient's contact change (routes/patients).
      methods: ['GET', 'POST', 'PATCH'],
      allowedHeaders: ['authorization', 'content-type'],
      exposedHeaders: ['content-disposition', 'content-length'],
      credentials: false,
      maxAge: 600,
    });
    if (app.config.workers) {
      app.addHook('onReady', async () => {
        index.start();
        mirror.start();
      });
    }
    app.addHook('onClose', async () => {
      await side.denials.close();
      await index.stop();
      await mirror.stop();
      store.close();
    });
  },
  { name: 'ehr-read-side' },
);
