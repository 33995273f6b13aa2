import { LitElement, css, html, nothing, type PropertyValues, type TemplateResult } from 'lit';
import { property, state } from 'lit/decorators.js';
import { provide } from '@lit/context';
import { ehrSessionContext, type EhrRole, type EhrSession, type WalletState } from '../../context/session.js';
import { DataSourceError, type EhrDataSource, type SignInResult } from '../../data/data-source.js';
import { describeError } from '../../internal/ehr-element.js';
import { EhrSignedInEvent } from '../../events/signed-in.js';
import { EhrWalletChangeEvent } from '../../events/wallet-change.js';
import { tokens } from '../../styles/tokens.js';
import { ehrProviderStrings, type EhrProviderStrings } from './ehr-provider.strings.js';

/** The EIP-1193 surface the provider uses. */
export interface Eip1193 {
  request(args: { method: string; params?: unknown[] | Record<string, unknown> }): Promise<unknown>;
  on?(event: string, listener: (...args: unknown[]) => void): unknown;
  removeListener?(event: string, listener: (...args: unknown[]) => void): unknown;
}

function roleOf(r: SignInResult): { role: EhrRole; patientId?: string; hospital?: string } {
  if (r.admin) return { role: 'admin' };
  if (r.hospital) return { role: 'hospital', hospital: r.hospital };
  if (r.doctorOf) return { role: 'doctor', hospital: r.doctorOf };
  if (r.subjects.length) return { role: 'patient', patientId: r.subjects[0]! };
  return { role: 'visitor' };
}

/** A source over several hospitals' bridges (HospitalNetworkDataSource): whom a sign-in signs for. */
interface MultiBridge {
  signInTargets(): Promise<{ name: string }[]>;
}

function rpcCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

function hexToUtf8Hex(message: string): string {
  return '0x' + [...new TextEncoder().encode(message)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * The context root every other element reads its session from: the bridge and chain settings, the
 * wallet (EIP-1193, `window.ethereum` by default; read-only without one), Sign-In with Ethereum
 * against the bridge, and the wrong-network and locked/rejected wallet states.
 *
 * @summary Session, wallet and settings for the ehr-anchor elements inside it.
 *
 * @fires ehr-wallet-change - The wallet connected, locked, changed account or network.
 * @fires ehr-signed-in - Sign-In with Ethereum succeeded.
 *
 * @slot - The elements that use this session.
 *
 * @csspart bar - The wallet and sign-in bar.
 * @csspart status - The wallet status text.
 *
 * @cssprop --ehr-provider-bar-background - Background of the bar.
 * @cssprop --ehr-color-accent - Accent color.
 */
export class EhrProvider extends LitElement {
  static override styles = [
    tokens,
    css`
      .bar {
        display: flex;
        flex-wrap: wrap;
        gap: var(--_space);
        align-items: center;
        padding: var(--_space);
        background: var(--ehr-provider-bar-background, var(--_bg-alt));
        border-radius: var(--_radius);
        margin-bottom: var(--_space);
      }
      :host([hide-bar]) .bar {
        display: none;
      }
    `,
  ];

  /**
   * Bridge base URL: one hospital's bridge. Without it (and with `rpc-url`, `chain-id` and
   * `contract-address`) the provider reads every hospital: their bridges as published on chain
   * (`endpointOf`), one merged timeline, a sign-in at each bridge.
   */
  @property({ attribute: 'bridge-url' }) accessor bridgeUrl = '';
  /** Chain JSON-RPC URL for reads (anchors, grants). */
  @property({ attribute: 'rpc-url' }) accessor rpcUrl = '';
  /** Chain id the wallet must be on. */
  @property({ attribute: 'chain-id', type: Number }) accessor chainId = 0;
  /** EhrRegistry contract address. */
  @property({ attribute: 'contract-address' }) accessor contractAddress = '';
  /**
   * The hospital whose bridge `bridge-url` is (its address on chain): records are verified as anchored
   * by it. Without it, the chain maps the bridge's signer to its hospital.
   */
  @property({ attribute: 'bridge-hospital' }) accessor bridgeHospital = '';
  /** Hides the built-in wallet bar (the host page renders its own from `ehr-wallet-change`). */
  @property({ attribute: 'hide-bar', type: Boolean, reflect: true }) accessor hideBar = false;
  /** The EIP-1193 wallet; defaults to `window.ethereum` when present. */
  @property({ attribute: false }) accessor ethereum: Eip1193 | undefined = (
    globalThis as { ethereum?: Eip1193 }
  ).ethereum;
  /** A data source to use instead of building one from the attributes (fixtures, custom backends). */
  @property({ attribute: false }) accessor dataSource: EhrDataSource | undefined;
  /** Translatable strings. */
  @property({ attribute: false }) accessor strings: EhrProviderStrings = ehrProviderStrings;

  /** The session provided to every element inside. */
  @provide({ context: ehrSessionContext })
  @state()
  accessor session: EhrSession | undefined;

  @state() private accessor wallet: WalletState = 'read-only';
  @state() private accessor account: string | undefined;
  @state() private accessor signedIn: { role: EhrRole; patientId?: string; hospital?: string } | undefined;
  @state() private accessor busy = false;
  @state() private accessor message = '';
  @state() private accessor builtSource: EhrDataSource | undefined;
  private builtKey = '';
  private subscribed: Eip1193 | undefined;

  private readonly onAccounts = (accounts: unknown): void => {
    const list = Array.isArray(accounts) ? (accounts as string[]) : [];
    if (list[0] !== this.account) this.signedIn = undefined;
    this.account = list[0];
    void this.refreshWallet();
  };

  private readonly onChain = (): void => {
    void this.refreshWallet();
  };

  override connectedCallback(): void {
    super.connectedCallback();
    this.subscribe();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.unsubscribe();
  }

  private subscribe(): void {
    if (this.subscribed === this.ethereum) return;
    this.unsubscribe();
    this.subscribed = this.ethereum;
    this.ethereum?.on?.('accountsChanged', this.onAccounts);
    this.ethereum?.on?.('chainChanged', this.onChain);
    void this.refreshWallet();
  }

  private unsubscribe(): void {
    this.subscribed?.removeListener?.('accountsChanged', this.onAccounts);
    this.subscribed?.removeListener?.('chainChanged', this.onChain);
    this.subscribed = undefined;
  }

  private get source(): EhrDataSource | undefined {
    return this.dataSource ?? this.builtSource;
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('ethereum') && this.isConnected) this.subscribe();
    if (!this.dataSource && this.rpcUrl && this.contractAddress && (this.bridgeUrl || this.chainId)) {
      const key = [this.bridgeUrl, this.rpcUrl, this.chainId, this.contractAddress, this.bridgeHospital].join(
        '|',
      );
      if (key !== this.builtKey || changed.has('ethereum')) {
        this.builtKey = key;
        const ethereum = this.ethereum;
        const chain = { rpcUrl: this.rpcUrl, chainId: this.chainId, contractAddress: this.contractAddress };
        // Loaded on demand: pages that pass a dataSource never load ethers through here.
        if (this.bridgeUrl)
          void import('../../data/http-chain-data-source.js').then(({ HttpChainDataSource }) => {
            if (this.builtKey !== key) return;
            this.builtSource = new HttpChainDataSource({
              ...chain,
              bridgeUrl: this.bridgeUrl,
              ...(this.bridgeHospital ? { hospital: this.bridgeHospital } : {}),
              ethereum: ethereum as never,
            });
          });
        else
          void import('../../data/hospital-network-data-source.js').then(({ HospitalNetworkDataSource }) => {
            if (this.builtKey !== key) return;
            this.builtSource = new HospitalNetworkDataSource({ ...chain, ethereum: ethereum as never });
          });
      }
    }
    const source = this.source;
    const next: EhrSession | undefined = source
      ? {
          dataSource: source,
          wallet: this.wallet,
          ...(this.account ? { account: this.account } : {}),
          ...(this.signedIn ?? {}),
        }
      : undefined;
    const prev = this.session;
    if (
      !prev !== !next ||
      (prev &&
        next &&
        (prev.dataSource !== next.dataSource ||
          prev.wallet !== next.wallet ||
          prev.account !== next.account ||
          prev.role !== next.role ||
          prev.patientId !== next.patientId))
    ) {
      this.session = next;
    }
  }

  private setWallet(wallet: WalletState): void {
    if (wallet === this.wallet) return;
    this.wallet = wallet;
    this.dispatchEvent(new EhrWalletChangeEvent({ wallet, account: this.account }));
  }

  /** Re-reads accounts and chain from the wallet without prompting. */
  async refreshWallet(): Promise<void> {
    const eth = this.ethereum;
    if (!eth) {
      this.account = undefined;
      this.setWallet('read-only');
      return;
    }
    try {
      const accounts = (await eth.request({ method: 'eth_accounts' })) as string[];
      this.account = accounts[0];
      if (!this.account) {
        this.signedIn = undefined;
        this.setWallet('locked');
        return;
      }
      const chain = Number.parseInt(String(await eth.request({ method: 'eth_chainId' })), 16);
      this.setWallet(this.chainId && chain !== this.chainId ? 'wrong-network' : 'connected');
    } catch (error) {
      this.message = describeError(error, this.strings);
      this.setWallet('locked');
    }
  }

  /** Asks the wallet to connect (`eth_requestAccounts`). */
  async connect(): Promise<void> {
    const eth = this.ethereum;
    if (!eth) return;
    this.busy = true;
    this.setWallet('connecting');
    try {
      await eth.request({ method: 'eth_requestAccounts' });
      this.message = '';
      await this.refreshWallet();
    } catch (error) {
      this.message =
        rpcCode(error) === 4001 ? this.strings.walletRejected : describeError(error, this.strings);
      this.setWallet(rpcCode(error) === 4001 ? 'rejected' : 'locked');
    } finally {
      this.busy = false;
    }
  }

  /** Asks the wallet to switch to `chain-id`. */
  async switchNetwork(): Promise<void> {
    const eth = this.ethereum;
    if (!eth || !this.chainId) return;
    this.busy = true;
    try {
      await eth.request({
        method: 'wallet_switchEthereumChain',
        params: [{ chainId: `0x${this.chainId.toString(16)}` }],
      });
      this.message = '';
    } catch (error) {
      this.message =
        rpcCode(error) === 4001 ? this.strings.walletRejected : describeError(error, this.strings);
    } finally {
      this.busy = false;
      await this.refreshWallet();
    }
  }

  /** Sign-In with Ethereum against the bridge; roles come from chain state. */
  async signIn(): Promise<void> {
    const eth = this.ethereum;
    const source = this.source;
    const account = this.account;
    if (!eth || !source?.signIn || !account || this.wallet !== 'connected') return;
    this.busy = true;
    this.message = this.strings.signingIn;
    try {
      // Several hospitals: one signature per bridge, said before the first prompt.
      const targets = await (source as Partial<MultiBridge>).signInTargets?.();
      if (targets && targets.length > 1) this.message = this.strings.signingInTo(targets.map((t) => t.name));
      const result = await source.signIn(account, async (message) => {
        try {
          return String(
            await eth.request({ method: 'personal_sign', params: [hexToUtf8Hex(message), account] }),
          );
        } catch (error) {
          throw rpcCode(error) === 4001
            ? new DataSourceError('wallet-rejected', 'Rejected in the wallet.', { cause: error })
            : error;
        }
      });
      this.signedIn = roleOf(result);
      this.message = '';
      this.dispatchEvent(new EhrSignedInEvent({ account, role: this.signedIn.role }));
    } catch (error) {
      this.message = describeError(error, this.strings);
      if (error instanceof DataSourceError && error.kind === 'wallet-rejected') this.setWallet('rejected');
    } finally {
      this.busy = false;
    }
  }

  signOut(): void {
    this.signedIn = undefined;
    (this.source as { signOut?: () => void } | undefined)?.signOut?.();
  }

  override render(): TemplateResult {
    const s = this.strings;
    return html`<div part="bar" class="bar">
        <span part="status" role="status" aria-live="polite"
          >${this.source ? (this.signedIn ? s.signedInAs(s.roles[this.signedIn.role]) : s.wallet[this.wallet]) : s.notConfigured}
          ${this.account ? html`<span class="muted">${this.account}</span>` : nothing} ${this.message ? html`<span>${this.message}</span>` : nothing}</span
        >
        ${this.renderAction()}
      </div>
      <slot></slot>`;
  }

  private renderAction(): TemplateResult | typeof nothing {
    const s = this.strings;
    if (!this.ethereum || !this.source) return nothing;
    if (this.wallet === 'locked' || this.wallet === 'rejected' || this.wallet === 'connecting')
      return html`<button class="primary" type="button" ?disabled=${this.busy} @click=${() => void this.connect()}>${s.connect}</button>`;
    if (this.wallet === 'wrong-network')
      return html`<button class="primary" type="button" ?disabled=${this.busy} @click=${() => void this.switchNetwork()}>${s.switchNetwork}</button>`;
    if (this.signedIn)
      return html`<button type="button" @click=${() => this.signOut()}>${s.signOut}</button>`;
    if (this.source.signIn)
      return html`<button class="primary" type="button" ?disabled=${this.busy} @click=${() => void this.signIn()}>${s.signIn}</button>`;
    return nothing;
  }
}
