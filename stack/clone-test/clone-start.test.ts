/**
 * What a new user and a supervisor do: `git clone` of the committed HEAD into an empty folder (no
 * sibling folder beside it), `npm start` there — which installs the npm dependencies, builds Kubo and
 * the HAPI FHIR server into the clone's .tools/, builds the demo, starts the stack — until "ready",
 * then ONE SIGTERM to the PID of `npm start`. Passes when every process it started is gone within
 * 10 s. Prints the time from clone to ready and of each phase.
 *
 * Too slow for every `npm test` (minutes of compiling Kubo and HAPI): run it on its own,
 *
 *   npm run start:clone-test                       warm caches (npm's, Go's and Maven's as they are)
 *   EHR_CLONE_COLD=1 npm run start:clone-test      cold: empty npm cache, Go module and build caches
 *                                                  and Maven repository, all in fresh temp folders
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { descendants, freePort, isAlive, repoRoot, waitFor } from '@ehr-anchor/testkit';

const cold = process.env.EHR_CLONE_COLD === '1';

/** Processes whose command line or working directory is inside `dir` (anything the clone left). */
function processesIn(dir: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      let cwd = '';
      try {
        cwd = readlinkSync(`/proc/${entry}/cwd`);
      } catch {
        // not ours to read
      }
      if (cmd.includes(dir) || cwd.startsWith(dir)) out.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return out;
}

describe('a fresh clone starts with `npm start` and stops on one SIGTERM', () => {
  const base = mkdtempSync(join(tmpdir(), 'ehr-clone-'));
  const clone = join(base, 'ehr-anchor');
  after(() => {
    for (const pid of processesIn(base))
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    if (!process.env.EHR_CLONE_KEEP) rmSync(base, { recursive: true, force: true });
  });

  it('clone → ready → SIGTERM → nothing left', { timeout: 60 * 60_000 }, async () => {
    const t0 = Date.now();
    const seconds = () => ((Date.now() - t0) / 1000).toFixed(1);
    execFileSync('git', ['clone', '--quiet', repoRoot, clone], { stdio: 'inherit' });
    assert.deepEqual(readdirSync(dirname(clone)), ['ehr-anchor'], 'nothing beside the clone');
    const cloned = Number(seconds());

    const env: NodeJS.ProcessEnv = { ...process.env };
    // Nothing of this checkout may leak into the clone's run.
    for (const key of Object.keys(env)) if (key.startsWith('EHR_') || key.startsWith('npm_')) delete env[key];
    delete env.INIT_CWD;
    env.PATH = (env.PATH ?? '')
      .split(':')
      .filter((p) => !p.startsWith(repoRoot))
      .join(':');
    const ports = {
      EHR_RPC_PORT: await freePort(),
      EHR_IPFS_API_PORT: await freePort(),
      EHR_IPFS_GATEWAY_PORT: await freePort(),
      EHR_FHIR_PORT: await freePort(),
      EHR_BRIDGE_PORT: await freePort(),
      EHR_DEMO_PORT: await freePort(),
      // Hospital B (npm start runs two hospitals) and the IPFS nodes' swarm ports.
      EHR_IPFS_SWARM_PORT: await freePort(),
      EHR_IPFS_B_API_PORT: await freePort(),
      EHR_IPFS_B_GATEWAY_PORT: await freePort(),
      EHR_IPFS_B_SWARM_PORT: await freePort(),
      EHR_FHIR_B_PORT: await freePort(),
      EHR_BRIDGE_B_PORT: await freePort(),
    };
    for (const [k, v] of Object.entries(ports)) env[k] = String(v);
    if (cold) {
      env.npm_config_cache = mkdtempSync(join(base, 'npm-cache-'));
      env.GOMODCACHE = mkdtempSync(join(base, 'go-mod-'));
      env.GOCACHE = mkdtempSync(join(base, 'go-build-'));
      env.MAVEN_OPTS = `${env.MAVEN_OPTS ?? ''} -Dmaven.repo.local=${mkdtempSync(join(base, 'm2-'))}`.trim();
    }

    // Its own process group only so that the after-hook can clean up if the test fails; the test
    // itself signals the one PID, as a supervisor does.
    const npm = spawn('npm', ['start'], {
      cwd: clone,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const pid = npm.pid!;
    let output = '';
    const marks: Record<string, number> = {};
    const mark = (name: string, pattern: RegExp) => {
      if (!(name in marks) && pattern.test(output)) marks[name] = Number(seconds());
    };
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      process.stdout.write(chunk.toString('utf8').replace(/^/gm, '# '));
      mark('npm dependencies installed', /\[bootstrap\][^\n]*\n[\s\S]*?(added|up to date)/);
      mark('tools built (ensure-tools done)', /\[start\] demo: building the widgets/);
      mark('demo built', /\[start\] starting anvil/);
      mark('FHIR server up', /fhir-server: ready in/);
      mark('ready', /^ready — /m);
    };
    npm.stdout.on('data', onData);
    npm.stderr.on('data', onData);
    const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));

    await waitFor(
      () => {
        if (npm.exitCode !== null) throw new Error(`npm start exited (${npm.exitCode}) before ready`);
        return 'ready' in marks;
      },
      { timeoutMs: 55 * 60_000, intervalMs: 500, what: '"ready" from npm start in the clone' },
    );
    const tree = descendants(pid);
    assert.ok(tree.length >= 6, `npm start runs the stack (${tree.length} processes)`);
    const readyz = await fetch(`http://127.0.0.1:${ports.EHR_BRIDGE_PORT}/readyz`);
    assert.equal(readyz.status, 200, 'the bridge is ready');

    const signalled = Date.now();
    process.kill(pid, 'SIGTERM');
    await waitFor(() => npm.exitCode !== null || npm.signalCode !== null, {
      timeoutMs: 10_000,
      intervalMs: 100,
      what: 'npm start to exit after one SIGTERM',
    });
    await waitFor(() => tree.every((p) => !isAlive(p)) && processesIn(clone).length === 0, {
      timeoutMs: Math.max(0, 10_000 - (Date.now() - signalled)),
      intervalMs: 100,
      what: 'every process npm start started to be gone, within 10 s of the signal',
    });
    const stopSeconds = (Date.now() - signalled) / 1000;
    assert.equal(await exited, 0, 'npm start ends cleanly after SIGTERM');
    assert.ok(!existsSync(join(base, 'shared')));

    const phases = [['cloned', cloned] as const, ...Object.entries(marks)];
    process.stdout.write(
      `# clone-start (${cold ? 'cold: empty npm cache, Go module/build caches and Maven repository' : 'warm caches'}), load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}\n` +
        phases.map(([name, s]) => `#   ${String(s).padStart(7)} s  ${name}\n`).join('') +
        `#   stopped ${stopSeconds.toFixed(1)} s after one SIGTERM, ${tree.length} processes, none left\n`,
    );
  });
});
