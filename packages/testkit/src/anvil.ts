import { startProcess, type ManagedProcess } from './processes.js';
import { toolPath } from './tools.js';
import { waitFor } from './wait.js';

export interface AnvilOptions {
  /** Persist chain state here (`anvil --state`), so the chain survives a restart. */
  statePath?: string;
  /** Port to listen on; 0 (the default) lets the OS choose, so test runs never collide. */
  port?: number;
  /** Seconds between blocks; by default a block is mined per transaction. */
  blockTime?: number;
}

export interface Anvil {
  readonly rpcUrl: string;
  readonly chainId: 1337;
  readonly process: ManagedProcess;
  /** JSON-RPC call, for tests that need raw methods (`evm_increaseTime`, `eth_blockNumber`). */
  rpc<T = unknown>(method: string, params?: unknown[]): Promise<T>;
  stop(): Promise<void>;
}

/** JSON-RPC over HTTP with fetch; throws the node's error message on an error reply. */
export async function jsonRpc<T>(url: string, method: string, params: unknown[] = []): Promise<T> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const body = (await response.json()) as { result?: T; error?: { message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result as T;
}

/**
 * Starts anvil configured like a free-gas Besu QBFT dev network: chain id 1337, gas price 0,
 * base fee 0, no minimum priority fee, the Cancun hardfork. Resolves once it answers
 * `eth_chainId`.
 */
export async function startAnvil(options: AnvilOptions = {}): Promise<Anvil> {
  const args = [
    '--chain-id',
    '1337',
    '--gas-price',
    '0',
    '--base-fee',
    '0',
    '--disable-min-priority-fee',
    '--hardfork',
    'cancun',
    '--host',
    '127.0.0.1',
    '--port',
    String(options.port ?? 0),
    // Large enough for the 10,000-record anchor benchmark and big test batches.
    '--gas-limit',
    '100000000',
  ];
  if (options.statePath) args.push('--state', options.statePath);
  if (options.blockTime) args.push('--block-time', String(options.blockTime));
  const proc = startProcess(toolPath('anvil'), args);
  try {
    const port = await waitFor(
      () => {
        if (proc.child.exitCode !== null) throw new Error(`anvil exited: ${proc.output().slice(-2000)}`);
        return /Listening on 127\.0\.0\.1:(\d+)/.exec(proc.output())?.[1];
      },
      { what: 'anvil to listen', timeoutMs: 30_000 },
    );
    const rpcUrl = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await jsonRpc<string>(rpcUrl, 'eth_chainId')) === '0x539', {
      what: 'anvil to answer eth_chainId',
    });
    return {
      rpcUrl,
      chainId: 1337,
      process: proc,
      rpc: (method, params) => jsonRpc(rpcUrl, method, params),
      stop: () => proc.stop(),
    };
  } catch (error) {
    await proc.stop();
    throw error;
  }
}
