/**
 * The read side's per-block cache of chain answers (read/chain.ts) must never weaken "a revoke
 * refuses the very next request": every request that starts after the revoke's block was mined is
 * refused, even while other reads stream and the chain mines a block only every second (as QBFT
 * does every 2). Real anvil with interval mining, Kubo, the bridge over HTTP.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ALL_SCOPES, NO_EXPIRY } from '@ehr-anchor/contracts';
import { chainProvider, chainSigner, registryAt } from '@ehr-anchor/contracts/deploy';
import { pseudonym } from '@ehr-anchor/core';
import { DEV_KEYS, loadSyntheaBundles, waitFor } from '@ehr-anchor/testkit';
import { Wallet, type JsonRpcProvider } from 'ethers';
import { ChainReader, inRequestScope } from '../src/read/chain.js';
import { bridgeFor, logSink, push, startEnv, waitAnchored, type Env } from './helpers.js';
import { api, send, signIn } from './read-harness.js';

describe('consent cache per block', () => {
  let env: Env;
  let bridge: Awaited<ReturnType<typeof bridgeFor>>;
  let provider: JsonRpcProvider;

  before(async () => {
    env = await startEnv({ blockTime: 1 });
    bridge = await bridgeFor(env, 'cache', {}, logSink().stream);
    provider = chainProvider(env.chain.anvil.rpcUrl);
  });
  after(async () => {
    await bridge?.app.close();
    provider?.destroy();
    await env?.stop();
  });

  it('shares a block-number call only with requests that arrived before it started', async () => {
    const chain = new ChainReader(env.chain.anvil.rpcUrl, env.chain.registry);
    try {
      // C arrives, then A starts a call, then B arrives; C asks last.
      const gate = Promise.withResolvers<void>();
      let c!: Promise<number>;
      const cAsked = new Promise<void>((done) =>
        inRequestScope(() => {
          void gate.promise.then(() => {
            c = chain.latestBlock();
            done();
          });
        }),
      );
      await new Promise((r) => setImmediate(r));
      let a!: Promise<number>;
      inRequestScope(() => {
        a = chain.latestBlock();
      });
      let b!: Promise<number>;
      let bAgain!: Promise<number>;
      inRequestScope(() => {
        b = chain.latestBlock();
        bAgain = chain.latestBlock();
      });
      gate.resolve();
      await cAsked;
      assert.notEqual(b, a, 'B arrived after A’s call started: it makes its own');
      assert.equal(c, b, 'C arrived before B’s call started: it shares it');
      assert.equal(bAgain, b, 'questions asked together share one call');
      for (const n of await Promise.all([a, b, c])) assert.ok(Number.isInteger(n));
    } finally {
      chain.close();
    }
  });

  it(
    'refuses every request that starts after the revoke’s block, while reads stream through the cache',
    { timeout: 180_000 },
    async () => {
      const bundle = loadSyntheaBundles().get('tiny-clemente-kreiger.json')!;
      assert.equal((await push(bridge.url, '/fhir', bundle)).status, 202);
      await waitAnchored(bridge.app, bundle.entry!.length);
      const patientId = bundle.entry!.find((e) => e.resource?.resourceType === 'Patient')!.resource!.id!;
      const subject = await pseudonym(patientId, bridge.app.keyStore.pseudonymKey());
      const as = (key: string) => registryAt(env.chain.registry, chainSigner(key, provider));
      const doctor = new Wallet(DEV_KEYS.doctorA);
      await send(
        as(DEV_KEYS.patient),
        'requestRegistration',
        new Wallet(DEV_KEYS.hospitalA).address,
        subject,
      );
      await send(as(DEV_KEYS.hospitalA), 'approveRegistration', new Wallet(DEV_KEYS.patient).address);
      await send(as(DEV_KEYS.patient), 'grantAccess', doctor.address, ALL_SCOPES, NO_EXPIRY);
      const token = await signIn(bridge.url, doctor);
      const list = await api(bridge.url, `/patients/${subject}/records?limit=5`, token);
      assert.equal(list.status, 200);
      const seq = (list.body.items as { seq: number }[])[0]!.seq;

      // Reads stream from four clients; each remembers when it started and what it got.
      const done: { start: number; status: number }[] = [];
      let revokedAt = Number.POSITIVE_INFINITY;
      let stop = false;
      const readers = Array.from({ length: 4 }, async () => {
        while (!stop) {
          const start = performance.now();
          const { status } = await api(bridge.url, `/records/${seq}`, token);
          done.push({ start, status });
        }
      });
      try {
        await waitFor(() => done.filter((d) => d.status === 200).length >= 20 || undefined, {
          timeoutMs: 60_000,
          what: 'reads allowed before the revoke',
        });
        const tx = (await as(DEV_KEYS.patient).getFunction('revokeAccess')(doctor.address)) as {
          wait(): Promise<{ blockNumber: number } | null>;
        };
        await tx.wait();
        revokedAt = performance.now();
        const next = await api(bridge.url, `/records/${seq}`, token);
        assert.equal(next.status, 403, 'the very next request after the revoke’s block');
        await waitFor(() => done.filter((d) => d.start > revokedAt).length >= 40 || undefined, {
          timeoutMs: 60_000,
          what: 'reads started after the revoke',
        });
      } finally {
        stop = true;
        await Promise.all(readers);
      }
      const afterRevoke = done.filter((d) => d.start > revokedAt);
      assert.deepEqual(
        [...new Set(afterRevoke.map((d) => d.status))],
        [403],
        'no read that started after the revoke was mined was allowed',
      );
      assert.ok(done.some((d) => d.start < revokedAt && d.status === 200));
    },
  );
});
