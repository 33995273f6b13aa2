/**
 * `ehr-bridge start` under a supervisor: the supervisor signals the launcher's PID only
 * (bin/ehr-bridge.mjs, which runs the TypeScript CLI in a child process). SIGTERM or SIGINT to that
 * one PID stops the bridge, and no process of it is left, within the 10 s a supervisor waits.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DEV_KEYS, descendants, freePort, isAlive, waitFor } from '@ehr-anchor/testkit';
import { BEARER, startEnv, type Env } from './helpers.js';

const LAUNCHER = fileURLToPath(new URL('../bin/ehr-bridge.mjs', import.meta.url));

describe('ehr-bridge launcher', () => {
  let env: Env;
  before(async () => {
    env = await startEnv();
  });
  after(async () => {
    await env?.stop();
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`stops the bridge and every process it started on one ${signal} to the launcher's PID`, async () => {
      const port = await freePort();
      const launcher = spawn(process.execPath, [LAUNCHER, 'start'], {
        // Its own process group, as under a supervisor: nothing but the one kill() below reaches it.
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          ...process.env,
          EHR_BRIDGE_FROM_SOURCE: '1',
          EHR_BRIDGE_PORT: String(port),
          EHR_BRIDGE_LOG_LEVEL: 'warn',
          EHR_BRIDGE_OUTBOX: `sqlite:${join(env.dir, `launcher-${signal}.db`)}`,
          EHR_BRIDGE_IPFS_API_URL: env.kubo.apiUrl,
          EHR_BRIDGE_RPC_URL: env.chain.anvil.rpcUrl,
          EHR_BRIDGE_DEPLOYMENT_FILE: env.chain.deploymentFile,
          EHR_BRIDGE_SIGNER_KEY: DEV_KEYS.bridgeA,
          EHR_BRIDGE_KEY_STORE: join(env.dir, `launcher-${signal}-keys.json`),
          EHR_BRIDGE_CREATE_KEYS: 'true',
          EHR_BRIDGE_SOURCES: JSON.stringify([{ id: 'src', auth: { type: 'bearer', secret: BEARER } }]),
        },
      });
      let output = '';
      launcher.stdout.on('data', (c: Buffer) => (output += c.toString()));
      launcher.stderr.on('data', (c: Buffer) => (output += c.toString()));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        launcher.once('exit', (code, sig) => resolve({ code, signal: sig })),
      );
      const pid = launcher.pid!;
      try {
        await waitFor(
          async () => {
            if (launcher.exitCode !== null) throw new Error(`the launcher exited: ${output}`);
            return (await fetch(`http://127.0.0.1:${port}/healthz`)).ok;
          },
          { timeoutMs: 120_000, intervalMs: 100, what: 'the bridge to listen' },
        );
        const started = descendants(pid);
        assert.ok(started.length >= 1, 'the launcher runs the CLI in a child process');

        process.kill(pid, signal);
        // The supervisor's wait (10 s), for the launcher and for everything it started.
        await waitFor(() => launcher.exitCode !== null || launcher.signalCode !== null, {
          timeoutMs: 10_000,
          intervalMs: 50,
          what: `the launcher to exit after ${signal}`,
        });
        const ended = await exited;
        assert.deepEqual(ended, { code: 0, signal: null }, `the bridge stopped cleanly: ${output}`);
        await waitFor(() => started.every((p) => !isAlive(p)), {
          timeoutMs: 10_000,
          intervalMs: 100,
          what: 'every process the launcher started to be gone',
        });
        assert.match(output, /ehr-bridge listening on/);
      } finally {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    });
  }
});
