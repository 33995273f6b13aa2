/**
 * The chain side: one `anchor(root, manifestCid, count)` per batch, signed locally by the
 * hospital's bridge signer (an ethers v6 Wallet wrapped in a NonceManager — Besu has no
 * `eth_sendTransaction`).
 *
 * Exactly-once across crashes: the transaction is signed first, its raw bytes and hash are
 * committed to the outbox, and only then broadcast. After a restart the same bytes are re-sent
 * (same nonce, same hash) — a second, different anchor transaction for the batch is never made
 * unless the chain proves the first can no longer be mined (its nonce was used by another
 * transaction and the root is not anchored).
 */
import { readFileSync } from 'node:fs';
import { ehrRegistryAbi, type Deployment } from '@ehr-anchor/contracts';
import {
  Contract,
  JsonRpcProvider,
  Network,
  NonceManager,
  Transaction,
  Wallet,
  type TransactionReceipt,
} from 'ethers';

export interface SignedAnchor {
  hash: string;
  raw: string;
  nonce: number;
}

export interface ChainConfig {
  rpcUrl: string;
  deploymentFile?: string;
  anchorAddress?: string;
  signerKey: string;
  pollingIntervalMs?: number;
}

export class Chain {
  readonly provider: JsonRpcProvider;
  readonly signer: NonceManager;
  readonly wallet: Wallet;
  readonly registry: Contract;
  readonly address: string;
  #chainId: number | undefined;

  constructor(config: ChainConfig) {
    if (config.deploymentFile) {
      const deployment = JSON.parse(readFileSync(config.deploymentFile, 'utf8')) as Deployment;
      this.address = deployment.addresses.ehrRegistry;
      this.#chainId = deployment.chainId;
    } else {
      this.address = config.anchorAddress!;
    }
    // A known chain id means no network detection: a bridge that starts while the chain is down
    // just queues, instead of ethers retrying detection (and logging) forever.
    this.provider = new JsonRpcProvider(config.rpcUrl, this.#chainId, {
      pollingInterval: config.pollingIntervalMs ?? 100,
      cacheTimeout: -1,
      ...(this.#chainId !== undefined ? { staticNetwork: Network.from(this.#chainId) } : {}),
    });
    this.wallet = new Wallet(config.signerKey, this.provider);
    this.signer = new NonceManager(this.wallet);
    this.registry = new Contract(this.address, ehrRegistryAbi, this.provider);
  }

  async chainId(): Promise<number> {
    this.#chainId ??= Number((await this.provider.getNetwork()).chainId);
    return this.#chainId;
  }

  get signerAddress(): string {
    return this.wallet.address;
  }

  /** The hospital this bridge anchors for (zero address when the signer is not registered). */
  async hospital(): Promise<string> {
    return (await this.registry.getFunction('hospitalOfSigner')(this.wallet.address)) as string;
  }

  /** Signs (does not send) the anchor transaction, with the next nonce from the NonceManager. */
  async signAnchor(root: string, manifestCid: string, count: number): Promise<SignedAnchor> {
    const data = this.registry.interface.encodeFunctionData('anchor', [root, manifestCid, count]);
    const [gasLimit, feeData, chainId] = await Promise.all([
      this.provider.estimateGas({ from: this.wallet.address, to: this.address, data }),
      this.provider.getFeeData(),
      this.chainId(),
    ]);
    const nonce = await this.signer.getNonce('pending');
    // Legacy pricing: Besu free-gas networks (and anvil here) run with gas price 0.
    const raw = await this.wallet.signTransaction({
      type: 0,
      to: this.address,
      data,
      nonce,
      chainId,
      gasLimit: (gasLimit * 12n) / 10n,
      gasPrice: feeData.gasPrice ?? 0n,
    });
    this.signer.increment();
    return { hash: Transaction.from(raw).hash!, raw, nonce };
  }

  /** Sends signed bytes; "already known" counts as sent. Returns false when the nonce was already used. */
  async broadcast(raw: string): Promise<'sent' | 'nonce-used'> {
    try {
      await this.provider.broadcastTransaction(raw);
      return 'sent';
    } catch (error) {
      const message = String(
        (error as { shortMessage?: string; message?: string }).shortMessage ?? (error as Error).message,
      );
      if (/already known|already imported|known transaction/i.test(message)) return 'sent';
      if (
        /nonce too low|nonce has already been used|NONCE_EXPIRED|replacement/i.test(message) ||
        (error as { code?: string }).code === 'NONCE_EXPIRED'
      ) {
        this.signer.reset();
        return 'nonce-used';
      }
      throw error;
    }
  }

  async receipt(hash: string): Promise<TransactionReceipt | null> {
    return this.provider.getTransactionReceipt(hash);
  }

  /**
   * The receipt once mined, polling `eth_getTransactionReceipt` (null after `timeoutMs`). Polled
   * directly: ethers' block-subscription wait sometimes missed a transaction mined at once (anvil
   * automine) and sat out its whole timeout (30 s stalls in the bench).
   */
  async waitForReceipt(hash: string, timeoutMs: number): Promise<TransactionReceipt | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const receipt = await this.provider.getTransactionReceipt(hash);
      if (receipt) return receipt;
      const left = deadline - Date.now();
      if (left <= 0) return null;
      await new Promise((resolve) => setTimeout(resolve, Math.min(this.provider.pollingInterval, left)));
    }
  }

  /** On-chain anchor of a root: the hospital and block time (0 when not anchored). */
  async anchorOf(root: string): Promise<{ hospital: string; timestamp: number; count: number }> {
    const [hospital, timestamp, count] = (await this.registry.getFunction('anchorOf')(root)) as [
      string,
      bigint,
      bigint,
    ];
    return { hospital, timestamp: Number(timestamp), count: Number(count) };
  }

  async ping(): Promise<void> {
    await this.provider.getBlockNumber();
  }

  destroy(): void {
    this.provider.destroy();
  }
}
