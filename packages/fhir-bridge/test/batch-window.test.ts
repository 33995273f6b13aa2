/**
 * When the batch step sleeps: a batch must close when its window ends (the oldest waiting record's
 * `received_at` + batchMaxMs), not up to a polling interval later — at steady traffic that lateness
 * was the p99 push→anchored (bench/latency.ts). Real SQLite outbox; the clock is passed in.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generatePseudonymKey } from '@ehr-anchor/core';
import { prepareResourceSync } from '../src/ingest/prepare.js';
import { SqliteOutbox } from '../src/outbox/sqlite.js';
import { Pipeline, type PipelineDeps } from '../src/pipeline/pipeline.js';

describe('batch window', () => {
  let dir: string;
  let outbox: SqliteOutbox;
  const WINDOW = 60_000;
  const options = {
    batchMax: 100,
    batchMaxMs: WINDOW,
    sealWorkers: 0,
    retryBaseMs: 100,
    retryMaxMs: 1_000,
    provenanceSources: [],
    writeBack: { maxAttempts: 3, retryBaseMs: 100, retryMaxMs: 1_000 },
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ehr-batch-window-'));
    outbox = new SqliteOutbox(join(dir, 'outbox.db'));
    await outbox.init();
  });
  after(async () => {
    await outbox.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('sleeps until the oldest stored record’s window ends, at most 1 s, and not at all once it has', async () => {
    // The batch step of a window that is not due touches only the outbox.
    const pipeline = new Pipeline({ outbox } as unknown as PipelineDeps, options);
    assert.equal(pipeline.batchWaitMs(), 1_000, 'nothing waiting: the polling interval');

    const receivedAt = Date.now();
    const key = generatePseudonymKey();
    await outbox.enqueue(
      [1, 2, 3].map((i) =>
        prepareResourceSync('test', { resourceType: 'Observation', id: `window-${i}`, status: 'final' }, key),
      ),
      receivedAt,
    );
    const received = await outbox.claimReceived(10, 60_000);
    await outbox.markStored(
      received.map((r) => ({
        seq: r.seq,
        cid: 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy',
        salt: `0x${'22'.repeat(32)}`,
        leaf: `0x${String(r.seq).padStart(2, '0').repeat(32)}`,
        keyId: `0x${'33'.repeat(32)}`,
      })),
    );
    assert.equal((await outbox.stored()).oldestReceivedAt, receivedAt);

    assert.equal(await pipeline.batchStep(), false, 'three records, a minute-long window: not due yet');
    assert.equal(pipeline.batchWaitMs(receivedAt + WINDOW - 300), 300, 'wakes exactly when the window ends');
    assert.equal(
      pipeline.batchWaitMs(receivedAt + 10),
      1_000,
      'never sleeps longer than the polling interval',
    );
    assert.equal(pipeline.batchWaitMs(receivedAt + WINDOW + 5), 1, 'an overdue window runs at once');
  });
});
