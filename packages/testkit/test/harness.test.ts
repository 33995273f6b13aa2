import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { isAlive, liveCount, startAnvil, startKubo, startPostgres, waitFor } from '../src/index.js';

describe('test harness', () => {
  it('starts anvil like a free-gas Besu dev chain and stops it without a trace', async () => {
    const anvil = await startAnvil();
    try {
      assert.equal(await anvil.rpc('eth_chainId'), '0x539');
      assert.equal(await anvil.rpc('eth_gasPrice'), '0x0');
      await anvil.rpc('evm_mine');
      assert.equal(Number(await anvil.rpc<string>('eth_blockNumber')), 1);
      assert.equal(await anvil.rpc('anvil_getAutomine'), true, 'a block per transaction by default');
    } finally {
      await anvil.stop();
    }
    assert.equal(isAlive(anvil.process.pid), false);
  });

  it('mines a block every blockTime seconds, with or without transactions, like QBFT', async () => {
    const anvil = await startAnvil({ blockTime: 1 });
    try {
      assert.equal(await anvil.rpc('anvil_getAutomine'), false, 'no block per transaction');
      await waitFor(async () => Number(await anvil.rpc<string>('eth_blockNumber')) >= 2 || undefined, {
        timeoutMs: 30_000,
        what: 'two blocks mined on the interval',
      });
    } finally {
      await anvil.stop();
    }
  });

  it('starts Kubo with the test profile and round-trips add/cat, then removes its repo', async () => {
    const kubo = await startKubo();
    try {
      const form = new FormData();
      form.append('file', new Blob([new TextEncoder().encode('hello ehr-anchor')]));
      const added = await fetch(`${kubo.apiUrl}/api/v0/add?cid-version=1&raw-leaves=true`, {
        method: 'POST',
        body: form,
      });
      assert.equal(added.status, 200);
      const { Hash } = (await added.json()) as { Hash: string };
      assert.match(Hash, /^bafk/);
      const cat = await fetch(`${kubo.apiUrl}/api/v0/cat?arg=${Hash}`, { method: 'POST' });
      assert.equal(await cat.text(), 'hello ehr-anchor');
      const gateway = await fetch(`${kubo.gatewayUrl}/ipfs/${Hash}`);
      assert.equal(await gateway.text(), 'hello ehr-anchor');
    } finally {
      await kubo.stop();
    }
    assert.equal(isAlive(kubo.process.pid), false);
    assert.equal(existsSync(kubo.repoPath), false);
  });

  it('runs two stacks side by side on different ports', async () => {
    const [a, b] = await Promise.all([startAnvil(), startAnvil()]);
    const [k1, k2] = await Promise.all([startKubo(), startKubo()]);
    try {
      assert.notEqual(a.rpcUrl, b.rpcUrl);
      assert.notEqual(k1.apiUrl, k2.apiUrl);
      assert.notEqual(k1.gatewayUrl, k2.gatewayUrl);
      await a.rpc('evm_mine');
      assert.equal(Number(await b.rpc<string>('eth_blockNumber')), 0, 'chains are independent');
    } finally {
      await Promise.all([a.stop(), b.stop(), k1.stop(), k2.stop()]);
    }
  });

  it('starts a throw-away PostgreSQL and stops it', async () => {
    const pg = await startPostgres();
    try {
      const { default: pgLib } = await import('pg');
      const client = new pgLib.Client({ connectionString: pg.url });
      await client.connect();
      const { rows } = await client.query<{ answer: number }>('select 41 + 1 as answer');
      assert.equal(rows[0]?.answer, 42);
      await client.end();
    } finally {
      await pg.stop();
    }
    assert.equal(isAlive(pg.process.pid), false);
  });

  it('leaves no service behind when the test process is killed with SIGKILL', async () => {
    const script = fileURLToPath(new URL('./fixtures/start-and-hang.ts', import.meta.url));
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const pids = await waitFor(() => /PIDS (\d+) (\d+)/.exec(out)?.slice(1).map(Number), {
      what: 'the child to start anvil and Kubo',
      timeoutMs: 60_000,
    });
    for (const pid of pids) assert.equal(isAlive(pid), true);
    child.kill('SIGKILL');
    await waitFor(() => pids.every((pid) => !isAlive(pid)), { what: 'the reaper to stop both services' });
  });

  it('gives up on a condition that never settles once its timeout has passed, naming what it waited for', async () => {
    // Before, a hung attempt kept waitFor (and the test) waiting for ever.
    await assert.rejects(
      waitFor(() => new Promise<boolean>(() => undefined), {
        timeoutMs: 300,
        intervalMs: 20,
        what: 'a server that never answers',
      }),
      /timed out after 300 ms waiting for a server that never answers: an attempt did not finish/,
    );
  });

  it('has no live service left at the end of the file', () => {
    assert.equal(liveCount(), 0);
  });
});
