/**
 * The `npm start` part: after the contracts part, the bridge starts with its SQLite outbox under
 * the stack's data dir, publishes `bridgeUrl`, loads the Synthea fixtures (here without a FHIR
 * server: POSTed straight to the bridge) and anchors them; a second start reuses everything.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  loadSyntheaBundles,
  startAnvil,
  startKubo,
  waitFor,
  type Anvil,
  type Kubo,
} from '@ehr-anchor/testkit';
import { DEV_SOURCE_SECRET, up } from '../src/bridge.js';
import type { StackContext, StackRow } from '../src/context.js';
import { up as contractsUp } from '../src/contracts.js';

describe('npm start part', () => {
  let dir: string;
  let anvil: Anvil;
  let kubo: Kubo;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ehr-stack-'));
    [anvil, kubo] = await Promise.all([startAnvil(), startKubo()]);
    process.env.EHR_BRIDGE_PORT = '0';
  });
  after(async () => {
    delete process.env.EHR_BRIDGE_PORT;
    await Promise.all([anvil?.stop(), kubo?.stop()]);
    await rm(dir, { recursive: true, force: true });
  });

  function context(rows: StackRow[], values: Record<string, string>): StackContext {
    return { dataDir: dir, values, row: (r) => rows.push(r), log: () => undefined };
  }

  it(
    'starts the bridge, publishes bridgeUrl and anchors the Synthea fixtures pushed through it',
    { timeout: 300_000 },
    async () => {
      const rows: StackRow[] = [];
      const values: Record<string, string> = {
        rpcUrl: anvil.rpcUrl,
        chainId: '1337',
        ipfsApiUrl: kubo.apiUrl,
        ipfsGatewayUrl: kubo.gatewayUrl,
      };
      await contractsUp(context(rows, values));
      const part = await up(context(rows, values));
      try {
        assert.match(values.bridgeUrl!, /^http:\/\/127\.0\.0\.1:\d+$/);
        assert.ok(rows.some((r) => r.name === 'bridge' && r.url === values.bridgeUrl));
        const unique = new Set(
          [...loadSyntheaBundles().values()].flatMap((b) =>
            b.entry!.map((e) => `${e.resource!.resourceType}/${e.resource!.id}`),
          ),
        );
        await waitFor(
          async () => {
            const s = (await (
              await fetch(`${values.bridgeUrl}/status`, {
                headers: { authorization: `Bearer ${DEV_SOURCE_SECRET}` },
              })
            ).json()) as {
              records: { anchored: number };
            };
            return s.records.anchored === unique.size;
          },
          { timeoutMs: 240_000, intervalMs: 500, what: 'the fixtures anchored' },
        );
        assert.equal((await fetch(`${values.bridgeUrl}/readyz`)).status, 200);
      } finally {
        await part?.stop?.();
      }
      // Restart: same outbox, fixtures not loaded again.
      const again = await up(context([], values));
      try {
        const s = (await (
          await fetch(`${values.bridgeUrl}/status`, {
            headers: { authorization: `Bearer ${DEV_SOURCE_SECRET}` },
          })
        ).json()) as {
          records: Record<string, number>;
        };
        assert.equal(s.records.received, 0);
      } finally {
        await again?.stop?.();
      }
    },
  );
});
