/**
 * Crash test: a real bridge process (the `ehr-bridge start` CLI) is killed with SIGKILL at random
 * moments, 20 times, while ≥ 5,000 resources are pushed to it over HTTP and moved through the
 * pipeline. The client re-sends whatever was not acknowledged (as a FHIR server would). Afterwards:
 * every resource is anchored (0 lost) and each exactly once — on chain, the Anchored events add up
 * to exactly the records of the outbox's batches, one event per batch.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ehrRegistryAbi } from '@ehr-anchor/contracts';
import { verifyProof, type Hex } from '@ehr-anchor/core';
import {
  DEV_KEYS,
  freePort,
  loadBulkResources,
  startProcess,
  waitFor,
  type ManagedProcess,
} from '@ehr-anchor/testkit';
import { Interface, JsonRpcProvider } from 'ethers';
import { loadKeyStore } from '../src/keys/keystore.js';
import { openOutbox } from '../src/outbox/index.js';
import { BEARER, startEnv, type Env } from './helpers.js';

const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const KILLS = Number(process.env.EHR_CRASH_KILLS ?? 20);
const CHUNK = 100;

describe('crash safety (kill -9 during ingest and anchoring)', () => {
  let env: Env;
  let port: number;
  let proc: ManagedProcess | undefined;
  let dbFile: string;

  before(async () => {
    env = await startEnv();
    port = await freePort();
    dbFile = join(env.dir, 'crash', 'outbox.db');
  });
  after(async () => {
    await proc?.stop();
    await env?.stop();
  });

  const base = () => `http://127.0.0.1:${port}`;

  async function startBridge(): Promise<ManagedProcess> {
    const p = startProcess(process.execPath, ['--conditions=source', '--import', 'tsx', CLI, 'start'], {
      env: {
        ...process.env,
        EHR_BRIDGE_PORT: String(port),
        EHR_BRIDGE_LOG_LEVEL: 'warn',
        EHR_BRIDGE_OUTBOX: `sqlite:${dbFile}`,
        EHR_BRIDGE_IPFS_API_URL: env.kubo.apiUrl,
        EHR_BRIDGE_RPC_URL: env.chain.anvil.rpcUrl,
        EHR_BRIDGE_DEPLOYMENT_FILE: env.chain.deploymentFile,
        EHR_BRIDGE_SIGNER_KEY: DEV_KEYS.bridgeA,
        EHR_BRIDGE_KEY_STORE: join(env.dir, 'crash', 'keys.json'),
        EHR_BRIDGE_CREATE_KEYS: 'true',
        EHR_BRIDGE_BATCH_MAX: '400',
        EHR_BRIDGE_BATCH_MAX_MS: '150',
        EHR_BRIDGE_RETRY_BASE_MS: '50',
        EHR_BRIDGE_RETRY_MAX_MS: '500',
        EHR_BRIDGE_SOURCES: JSON.stringify([{ id: 'hapi', auth: { type: 'bearer', secret: BEARER } }]),
      },
    });
    await waitFor(
      async () => {
        if (p.child.exitCode !== null) throw new Error(`bridge exited: ${p.output().slice(-2000)}`);
        return (await fetch(`${base()}/healthz`)).ok;
      },
      { timeoutMs: 60_000, intervalMs: 50, what: 'bridge to start' },
    );
    return p;
  }

  async function kill9(p: ManagedProcess): Promise<void> {
    const exited = new Promise<void>((resolve) =>
      p.child.exitCode !== null || p.child.signalCode !== null
        ? resolve()
        : p.child.once('exit', () => resolve()),
    );
    try {
      process.kill(-p.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    await exited;
    await p.stop();
  }

  it(
    'loses nothing and anchors nothing twice across 20 SIGKILLs during ingest of ≥ 5,000 resources',
    { timeout: 600_000 },
    async () => {
      const resources = loadBulkResources([
        'Condition',
        'Encounter',
        'MedicationRequest',
        'Procedure',
        'Immunization',
        'AllergyIntolerance',
        'Device',
        'Patient',
      ]);
      assert.ok(resources.length >= 5000, `need ≥ 5,000 resources, have ${resources.length}`);
      const chunks: unknown[][] = [];
      for (let i = 0; i < resources.length; i += CHUNK) chunks.push(resources.slice(i, i + CHUNK));
      const acked = new Set<number>();
      let next = 0;
      let kills = 0;
      let resent = 0;

      // Pushes chunks until the bridge dies under it; a chunk without a 202 is sent again later.
      async function pushWhileAlive(limit = Infinity): Promise<void> {
        for (let pushed = 0; pushed < limit; pushed++) {
          const i =
            [...Array(chunks.length).keys()].find((k) => k >= next && !acked.has(k)) ??
            [...Array(chunks.length).keys()].find((k) => !acked.has(k));
          if (i === undefined) return;
          next = i + 1;
          try {
            const res = await fetch(`${base()}/fhir`, {
              method: 'POST',
              headers: { authorization: `Bearer ${BEARER}`, 'content-type': 'application/fhir+json' },
              body: JSON.stringify({
                resourceType: 'Bundle',
                type: 'collection',
                entry: chunks[i]!.map((resource) => ({ resource })),
              }),
            });
            if (res.status === 202) acked.add(i);
            else resent++;
          } catch {
            resent++;
            next = i; // the bridge is gone: resend this chunk to the next one
            return;
          }
        }
      }

      while (kills < KILLS) {
        proc = await startBridge();
        // Spread the ingest over the kills, so kills land mid-request as well as mid-pipeline.
        const pushing = pushWhileAlive(Math.ceil(chunks.length / KILLS) + 1);
        // Kill at a random moment: while it ingests, seals, imports to Kubo, batches or anchors.
        await new Promise((r) => setTimeout(r, 100 + Math.random() * 1000));
        await kill9(proc);
        proc = undefined;
        kills++;
        await pushing;
      }

      // A last, undisturbed run: push what is left and let everything anchor.
      proc = await startBridge();
      while (acked.size < chunks.length) await pushWhileAlive();
      const provider = new JsonRpcProvider(env.chain.anvil.rpcUrl, 1337, { staticNetwork: true });
      await waitFor(
        async () => {
          const status = (await (
            await fetch(`${base()}/status`, { headers: { authorization: `Bearer ${BEARER}` } })
          ).json()) as {
            records: Record<'received' | 'stored' | 'batched' | 'anchored', number>;
          };
          return (
            status.records.received + status.records.stored + status.records.batched === 0 &&
            status.records.anchored > 0
          );
        },
        { timeoutMs: 300_000, intervalMs: 250, what: 'everything anchored after the crashes' },
      );
      await proc.stop();
      proc = undefined;

      // The bridge's view of its outbox (ids sealed at rest): opened with its key store.
      const keys = loadKeyStore(join(env.dir, 'crash', 'keys.json'));
      const outbox = await openOutbox(`sqlite:${dbFile}`, keys.pseudonymKey());
      try {
        // 0 lost: every pushed resource is in the outbox, anchored.
        const expected = new Set(resources.map((r) => `${r.resourceType}/${r.id}`));
        let anchoredRecords = 0;
        const batchIds = new Set<number>();
        let checkedProofs = 0;
        for (const key of expected) {
          const [type, id] = key.split('/') as [string, string];
          const versions = await outbox.versions(type, id);
          assert.equal(versions.length, 1, `${type} has exactly one version`);
          assert.equal(versions[0]!.state, 'anchored');
          anchoredRecords++;
          batchIds.add(versions[0]!.batchId!);
          if (checkedProofs++ % 97 === 0) {
            const batch = (await outbox.getBatch(versions[0]!.batchId!))!;
            assert.ok(verifyProof(versions[0]!.leaf as Hex, versions[0]!.proof as Hex[], batch.root as Hex));
          }
        }
        assert.equal(anchoredRecords, expected.size);
        const counts = await outbox.counts();
        assert.equal(counts.records.anchored, expected.size, 'no record beyond the pushed ones');

        // 0 anchored twice: one Anchored event per batch, and the events' counts add up to the records.
        const iface = new Interface(ehrRegistryAbi);
        const topic = iface.getEvent('Anchored')!.topicHash;
        const logs = await provider.getLogs({ fromBlock: 0, toBlock: 'latest', topics: [topic] });
        const events = logs.map((l) => iface.parseLog(l)!);
        const batches = await outbox.listBatches(100_000);
        assert.equal(events.length, batches.length, 'exactly one anchor transaction per batch');
        assert.equal(
          events.reduce((n, e) => n + Number(e.args.count), 0),
          expected.size,
          'each record anchored once',
        );
        const roots = new Set(events.map((e) => String(e.args.root)));
        assert.equal(roots.size, events.length);
        for (const b of batches) assert.ok(roots.has(b.root), `batch ${b.id} root is on chain`);
        process.stdout.write(
          `# crash test: ${kills} kills, ${resources.length} resources, ${resent} re-sent chunks, ${batches.length} batches, ${events.length} anchor txs\n`,
        );
      } finally {
        await outbox.close();
        provider.destroy();
      }
    },
  );
});
