/**
 * A small EIP-1193 provider backed by the local stack's dev keys, for browsers without a wallet
 * extension. It answers what the elements ask a wallet (accounts, chain id, `personal_sign`,
 * `eth_signTypedData_v4`, `eth_sendTransaction`) by signing locally with an ethers `Wallet` and
 * sending the raw transaction to the chain (a Besu node has no `eth_sendTransaction`); everything
 * else goes to the chain's JSON-RPC as is. The dev keys are anvil's public test keys: this is for
 * the loopback demo only.
 */
import {
  JsonRpcProvider,
  NonceManager,
  Wallet,
  getBytes,
  isHexString,
  toBeHex,
  toUtf8String,
  type TransactionRequest,
} from 'ethers';
// The error type and the listener registry are the widgets' (the same ones TestWallet uses).
import { Eip1193Events, ProviderRpcError } from '@ehr-anchor/widgets/eip1193.js';

export { ProviderRpcError };

interface RpcTransaction {
  from?: string;
  to?: string;
  data?: string;
  value?: string;
  gas?: string;
  gasPrice?: string;
  nonce?: string;
}

export class DevWallet extends Eip1193Events {
  /** Lets pages and tools tell this apart from a browser wallet. */
  readonly isEhrDevWallet = true;
  private readonly rpc: JsonRpcProvider;
  private signer: NonceManager | undefined;
  private wallet: Wallet | undefined;

  constructor(
    rpcUrl: string,
    readonly chainId: number,
  ) {
    super();
    this.rpc = new JsonRpcProvider(rpcUrl, chainId, { staticNetwork: true, cacheTimeout: -1 });
  }

  /** The account in use (checksummed), if a key is set. */
  get address(): string | undefined {
    return this.wallet?.address;
  }

  /** Switches to another dev key (or none) and tells listeners, as a wallet does when the user switches accounts. */
  use(privateKey: string | undefined): void {
    this.wallet = privateKey ? new Wallet(privateKey, this.rpc) : undefined;
    this.signer = this.wallet ? new NonceManager(this.wallet) : undefined;
    this.emit('accountsChanged', this.wallet ? [this.wallet.address] : []);
  }

  private account(requested?: unknown): Wallet {
    if (!this.wallet || !this.signer) throw new ProviderRpcError(4100, 'No dev account selected.');
    if (typeof requested === 'string' && requested.toLowerCase() !== this.wallet.address.toLowerCase()) {
      throw new ProviderRpcError(4100, `The dev wallet holds ${this.wallet.address}, not ${requested}.`);
    }
    return this.wallet;
  }

  async request({
    method,
    params = [],
  }: {
    method: string;
    params?: unknown[] | Record<string, unknown>;
  }): Promise<unknown> {
    const args = Array.isArray(params) ? params : [params];
    switch (method) {
      case 'eth_requestAccounts':
      case 'eth_accounts':
        return this.wallet ? [this.wallet.address] : [];
      case 'eth_chainId':
        return toBeHex(this.chainId);
      case 'net_version':
        return String(this.chainId);
      case 'wallet_switchEthereumChain': {
        const wanted = Number((args[0] as { chainId?: string } | undefined)?.chainId);
        if (wanted !== this.chainId)
          throw new ProviderRpcError(4902, `The dev wallet only knows chain ${this.chainId}.`);
        return null;
      }
      case 'personal_sign': {
        // params: [message, address]; the message is hex-encoded bytes (or, from some callers, plain text).
        const [message, address] = args as [string, string];
        const wallet = this.account(address);
        return wallet.signMessage(isHexString(message) ? getBytes(message) : message);
      }
      case 'eth_sign': {
        const [address, message] = args as [string, string];
        return this.account(address).signMessage(getBytes(message));
      }
      case 'eth_signTypedData_v4': {
        const [address, json] = args as [string, string];
        const wallet = this.account(address);
        const typed = (typeof json === 'string' ? JSON.parse(json) : json) as {
          domain: Record<string, unknown>;
          types: Record<string, Array<{ name: string; type: string }>>;
          message: Record<string, unknown>;
        };
        const { EIP712Domain: _domain, ...types } = typed.types;
        return wallet.signTypedData(typed.domain, types, typed.message);
      }
      case 'eth_sendTransaction': {
        const tx = args[0] as RpcTransaction;
        this.account(tx.from);
        const request: TransactionRequest = {
          ...(tx.to ? { to: tx.to } : {}),
          ...(tx.data ? { data: tx.data } : {}),
          ...(tx.value ? { value: BigInt(tx.value) } : {}),
          ...(tx.gas ? { gasLimit: BigInt(tx.gas) } : {}),
          chainId: this.chainId,
        };
        // Signed here, sent raw (eth_sendRawTransaction); the NonceManager keeps nonces in order.
        const sent = await this.signer!.sendTransaction(request);
        return sent.hash;
      }
      case 'eth_signTransaction':
        throw new ProviderRpcError(4200, 'eth_signTransaction is not supported.');
      default:
        return this.rpc.send(method, args);
    }
  }

  /** Decodes a `personal_sign` payload for display (never used for signing). */
  static readable(message: string): string {
    try {
      return isHexString(message) ? toUtf8String(message) : message;
    } catch {
      return message;
    }
  }
}
