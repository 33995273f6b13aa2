import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** A service process started by the harness, in its own process group. */
export interface ManagedProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Everything the process wrote to stdout and stderr so far (for error messages). */
  output(): string;
  /** SIGTERM the whole process group, SIGKILL after `graceMs`; resolves when it has exited. */
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<ManagedProcess>();
let hooked = false;

const REAPER = fileURLToPath(new URL('../bin/reaper.mjs', import.meta.url));

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/**
 * Tear every live service down when this process ends in any ordinary way. A separate reaper
 * process covers the one way these hooks cannot: the test runner being killed with SIGKILL.
 */
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const p of live) killGroup(p.pid, 'SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    // A program with its own handler (npm start) stops services itself, in its own order.
    if (process.listenerCount(signal) > 0) continue;
    process.once(signal, () => {
      void stopAll().finally(() =>
        process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1)),
      );
    });
  }
}

/** Stops every process this module started that is still running. */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((p) => p.stop()));
}

/** Number of processes started here that are still running (the harness tests check it is 0). */
export function liveCount(): number {
  return live.size;
}

/**
 * Starts `command` detached in its own process group, so that stopping it also stops anything it
 * spawned, with a reaper that kills the group if this process dies without running its exit hooks.
 */
export function startProcess(command: string, args: string[], options: SpawnOptions = {}): ManagedProcess {
  hookExit();
  const child = spawn(command, args, { ...options, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  const pid = child.pid;
  let out = '';
  const keep = (chunk: Buffer) => {
    out += chunk.toString('utf8');
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const reaper = spawn(process.execPath, [REAPER, String(process.pid), String(pid)], {
    detached: true,
    stdio: 'ignore',
  });
  reaper.unref();
  const managed: ManagedProcess = {
    child,
    pid,
    output: () => out,
    async stop(graceMs = 5_000) {
      if (child.exitCode === null && child.signalCode === null) {
        killGroup(pid, 'SIGTERM');
        const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      // Children of the service (if any) share its group: make sure none outlive it.
      killGroup(pid, 'SIGKILL');
      live.delete(managed);
      try {
        if (reaper.pid !== undefined) process.kill(reaper.pid, 'SIGKILL');
      } catch {
        // reaper already exited
      }
    },
  };
  void exited.then(() => live.delete(managed));
  live.add(managed);
  return managed;
}

/** True while a process with this pid exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The process ids whose parent is `pid`, and theirs, and so on (read from /proc; Linux). */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    // "pid (comm) state ppid …": comm may hold spaces and parentheses, so read after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(entry));
    children.set(ppid, list);
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}
