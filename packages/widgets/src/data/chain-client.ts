/**
 * Just enough chain access for the elements, on ethers' ABI coder (`Interface`) alone: reads are
 * plain JSON-RPC `eth_call` / `eth_getLogs` to the configured RPC URL, writes go to the person's
 * EIP-1193 wallet as `eth_sendTransaction` (the wallet signs; the node never needs an unlocked
 * account, as on Besu). Using ethers' providers instead would add ~80 KB gzip to the one-file
 * bundle for features the elements never use (ENS, plugins, subscriptions, network registry).
 */
import { Interface, type InterfaceAbi, type LogDescription } from 'ethers/abi';
import { describeContractError } from '@ehr-anchor/contracts';
import { DataSourceError } from './data-source.js';

/** The EIP-1193 request surface. */
export interface Eip1193Like {
  request(args: { method: string; params?: unknown[] | Record<string, unknown> }): Promise<unknown>;
}

export interface ChainClientOptions {
  rpcUrl: string;
  chainId: number;
  address: string;
  abi: InterfaceAbi;
  wallet?: Eip1193Like | undefined;
  fromBlock?: number;
  /** How often to ask for a transaction receipt, in ms. */
  receiptPollMs?: number;
}

interface RpcError {
  code?: number;
  message?: string;
  data?: unknown;
}

export class ChainClient {
  readonly iface: Interface;
  private id = 0;

  constructor(private readonly options: ChainClientOptions) {
    this.iface = new Interface(options.abi);
  }

  /** A raw JSON-RPC call to the read node. */
  async rpc<T>(method: string, params: unknown[]): Promise<T> {
    let res: Response;
    try {
      res = await fetch(this.options.rpcUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: ++this.id, method, params }),
      });
    } catch (error) {
      throw new DataSourceError('network', `The chain node at ${this.options.rpcUrl} could not be reached.`, {
        cause: error,
      });
    }
    const body = (await res.json()) as { result?: T; error?: RpcError };
    if (body.error) throw this.decodeError(body.error);
    return body.result as T;
  }

  /** A custom error of the contract (by name) or the node's message. */
  decodeError(error: unknown): DataSourceError {
    const code = (error as RpcError).code;
    if (code === 4001)
      return new DataSourceError('wallet-rejected', 'Rejected in the wallet.', { cause: error });
    if (code === 4100) return new DataSourceError('wallet-locked', 'The wallet is locked.', { cause: error });
    // A custom error of the registry, as a sentence for the person (never its name and arguments).
    const described = describeContractError(error);
    if (described)
      return new DataSourceError('reverted', described.message, { cause: error, forPeople: true });
    return new DataSourceError('unknown', (error as RpcError).message ?? String(error), { cause: error });
  }

  /** Calls a view function at the latest block and returns its decoded result. */
  async call(fn: string, args: unknown[] = []): Promise<unknown[]> {
    const data = this.iface.encodeFunctionData(fn, args);
    const result = await this.rpc<string>('eth_call', [{ to: this.options.address, data }, 'latest']);
    return [...this.iface.decodeFunctionResult(fn, result)];
  }

  /** Every log of `event` matching the indexed `values` (null = any), oldest first. */
  async logs(event: string, values: Array<string | null> = []): Promise<LogDescription[]> {
    const topics = this.iface.encodeFilterTopics(event, values);
    const logs = await this.rpc<Array<{ topics: string[]; data: string }>>('eth_getLogs', [
      {
        address: this.options.address,
        fromBlock: `0x${(this.options.fromBlock ?? 0).toString(16)}`,
        toBlock: 'latest',
        topics,
      },
    ]);
    return logs.flatMap((l) => {
      const parsed = this.iface.parseLog(l);
      return parsed ? [parsed] : [];
    });
  }

  /** The wallet's account, checking it is unlocked and on the right chain. */
  async account(): Promise<string> {
    const wallet = this.options.wallet;
    if (!wallet) throw new DataSourceError('no-wallet', 'No wallet.');
    let accounts: string[];
    let chain: string;
    try {
      accounts = (await wallet.request({ method: 'eth_accounts' })) as string[];
      chain = String(await wallet.request({ method: 'eth_chainId' }));
    } catch (error) {
      throw this.decodeError(error);
    }
    if (!accounts[0]) throw new DataSourceError('wallet-locked', 'The wallet is locked.');
    if (this.options.chainId && Number.parseInt(chain, 16) !== this.options.chainId) {
      throw new DataSourceError(
        'wrong-network',
        `The wallet is on chain ${Number.parseInt(chain, 16)}, not ${this.options.chainId}.`,
      );
    }
    return accounts[0];
  }

  /**
   * Sends a contract call through the wallet. Resolves once the wallet returned the hash; `wait`
   * resolves when mined and rejects with the contract's custom error when it reverted.
   */
  async send(
    fn: string,
    args: unknown[],
  ): Promise<{ hash: string; wait(): Promise<{ blockNumber: number }> }> {
    const from = await this.account();
    const data = this.iface.encodeFunctionData(fn, args);
    const tx = { from, to: this.options.address, data };
    // Simulate first: a revert is reported with its custom error before the person signs anything.
    await this.rpc('eth_call', [tx, 'latest']);
    let hash: string;
    try {
      hash = String(await this.options.wallet!.request({ method: 'eth_sendTransaction', params: [tx] }));
    } catch (error) {
      throw this.decodeError(error);
    }
    return {
      hash,
      wait: async () => {
        for (;;) {
          const receipt = await this.rpc<{ status: string; blockNumber: string } | null>(
            'eth_getTransactionReceipt',
            [hash],
          );
          if (receipt) {
            if (receipt.status !== '0x1') {
              // Replay at the mined block to learn the reason.
              try {
                await this.rpc('eth_call', [tx, receipt.blockNumber]);
              } catch (error) {
                throw error instanceof DataSourceError && error.kind === 'reverted'
                  ? error
                  : new DataSourceError('reverted', 'reverted');
              }
              throw new DataSourceError('reverted', 'reverted');
            }
            return { blockNumber: Number.parseInt(receipt.blockNumber, 16) };
          }
          await new Promise((r) => setTimeout(r, this.options.receiptPollMs ?? 500));
        }
      },
    };
  }
}
