import { JsonRpcProvider, NonceManager, type Eip1193Provider, type Wallet } from 'ethers';
import { Eip1193Events, ProviderRpcError } from '../wallet/eip1193.js';

export { ProviderRpcError };

/**
 * An in-page EIP-1193 wallet for tests and Storybook: real secp256k1 signatures (ethers `Wallet`),
 * with the states a person's wallet goes through — locked, connected, on another network — and a
 * way to reject the next request (what a person clicking "Reject" does).
 */
export class TestWallet extends Eip1193Events implements Eip1193Provider {
  private unlocked: boolean;
  private rejectNextRequest = false;
  readonly requests: string[] = [];

  private signer: NonceManager | undefined;

  /** With `rpcUrl`, `eth_sendTransaction` signs locally and sends through that node (as a browser wallet does). */
  constructor(
    readonly wallet: Wallet,
    public chainId: number,
    options: { unlocked?: boolean; rpcUrl?: string } = {},
  ) {
    super();
    this.unlocked = options.unlocked ?? true;
    if (options.rpcUrl)
      this.signer = new NonceManager(
        wallet.connect(new JsonRpcProvider(options.rpcUrl, chainId, { staticNetwork: true })),
      );
  }

  get address(): string {
    return this.wallet.address;
  }

  /** The next request that needs the person's approval fails with 4001. */
  rejectNext(): void {
    this.rejectNextRequest = true;
  }

  /** Locks the wallet (accounts become empty) and tells listeners. */
  lock(): void {
    this.unlocked = false;
    this.emit('accountsChanged', []);
  }

  private approve(): void {
    if (this.rejectNextRequest) {
      this.rejectNextRequest = false;
      throw new ProviderRpcError(4001, 'User rejected the request.');
    }
  }

  async request(args: { method: string; params?: unknown[] | Record<string, unknown> }): Promise<unknown> {
    this.requests.push(args.method);
    const params = (Array.isArray(args.params) ? args.params : []) as unknown[];
    switch (args.method) {
      case 'eth_accounts':
        return this.unlocked ? [this.wallet.address] : [];
      case 'eth_requestAccounts':
        this.approve();
        this.unlocked = true;
        this.emit('accountsChanged', [this.wallet.address]);
        return [this.wallet.address];
      case 'eth_chainId':
        return `0x${this.chainId.toString(16)}`;
      case 'wallet_switchEthereumChain': {
        this.approve();
        const id = Number.parseInt(String((params[0] as { chainId: string }).chainId), 16);
        this.chainId = id;
        this.emit('chainChanged', `0x${id.toString(16)}`);
        return null;
      }
      case 'personal_sign': {
        this.approve();
        if (!this.unlocked) throw new ProviderRpcError(4100, 'Unauthorized: wallet locked.');
        const [hexMessage] = params as [string];
        const text = new TextDecoder().decode(
          Uint8Array.from(
            (hexMessage.replace(/^0x/, '').match(/../g) ?? []).map((b) => Number.parseInt(b, 16)),
          ),
        );
        return this.wallet.signMessage(text);
      }
      case 'eth_sendTransaction': {
        this.approve();
        if (!this.unlocked) throw new ProviderRpcError(4100, 'Unauthorized: wallet locked.');
        if (!this.signer)
          throw new ProviderRpcError(4200, 'This test wallet has no RPC URL to send through.');
        const [tx] = params as [{ to: string; data: string }];
        const sent = await this.signer.sendTransaction({ to: tx.to, data: tx.data, gasPrice: 0n });
        return sent.hash;
      }
      default:
        throw new ProviderRpcError(4200, `Unsupported method ${args.method}`);
    }
  }
}
