import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports.js';
import { startProcess, type ManagedProcess } from './processes.js';
import { waitFor } from './wait.js';

const run = promisify(execFile);

export interface Postgres {
  /** Connection string for `pg`, e.g. `postgres://postgres@127.0.0.1:PORT/postgres`. */
  readonly url: string;
  readonly process: ManagedProcess;
  stop(): Promise<void>;
}

/** Folder of Debian's PostgreSQL server binaries (`initdb`, `postgres`), newest version first. */
export function postgresBin(): string {
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base) ? readdirSync(base).sort((a, b) => Number(b) - Number(a)) : [];
  for (const version of versions) {
    const bin = join(base, version, 'bin');
    if (existsSync(join(bin, 'initdb'))) return bin;
  }
  throw new Error(
    'PostgreSQL server not found: install it with `apt-get install -y postgresql` (npm run ensure-tools does)',
  );
}

/**
 * Starts a throw-away PostgreSQL cluster in a temp dir on a free loopback port, trusting local
 * connections. PostgreSQL refuses to run as root, so as root it runs as the `postgres` user.
 */
export async function startPostgres(): Promise<Postgres> {
  const bin = postgresBin();
  const dir = await mkdtemp(join(tmpdir(), 'ehr-pg-'));
  const asRoot = userInfo().uid === 0;
  const wrap = (cmd: string, args: string[]): [string, string[]] =>
    asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    await chown(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  await chmod(dir, 0o700);
  const data = join(dir, 'data');
  const [initCmd, initArgs] = wrap(join(bin, 'initdb'), [
    '-D',
    data,
    '-U',
    'postgres',
    '--auth=trust',
    '-E',
    'UTF8',
    '--no-sync',
  ]);
  await run(initCmd, initArgs);
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const [cmd, args] = wrap(join(bin, 'postgres'), [
      '-D',
      data,
      '-p',
      String(port),
      '-k',
      dir,
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'fsync=off',
    ]);
    const proc = startProcess(cmd, args);
    try {
      await waitFor(
        () => {
          if (proc.child.exitCode !== null) throw new Error(`postgres exited: ${proc.output().slice(-2000)}`);
          return /ready to accept connections/.test(proc.output());
        },
        { what: 'PostgreSQL to accept connections', timeoutMs: 30_000 },
      );
      return {
        url: `postgres://postgres@127.0.0.1:${port}/postgres`,
        process: proc,
        async stop() {
          await proc.stop();
          await rm(dir, { recursive: true, force: true });
        },
      };
    } catch (error) {
      await proc.stop();
      if (attempt >= 3 || !/Address already in use/.test(proc.output())) {
        await rm(dir, { recursive: true, force: true });
        throw error;
      }
    }
  }
}
