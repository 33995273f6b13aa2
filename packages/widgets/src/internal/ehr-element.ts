import { LitElement, type PropertyValues } from 'lit';
import { property, state } from 'lit/decorators.js';
import { consume } from '@lit/context';
import { ehrSessionContext, type EhrSession } from '../context/session.js';
import { DataSourceError, type EhrDataSource } from '../data/data-source.js';

/**
 * What every element shares: it consumes the session of the nearest `<ehr-provider>`, and — when
 * standalone — builds its own read-only HTTP+chain data source from the same four attributes the
 * provider takes. An explicit `dataSource` property wins over both (tests, Storybook, custom hosts).
 */
export class EhrElement extends LitElement {
  /** Session provided by the nearest `<ehr-provider>`, if any. */
  @consume({ context: ehrSessionContext, subscribe: true })
  @state()
  accessor session: EhrSession | undefined;

  /** A data source to use instead of the provider's (fixtures, custom backends). */
  @property({ attribute: false }) accessor dataSource: EhrDataSource | undefined;

  /** Bridge base URL, when used without `<ehr-provider>`. */
  @property({ attribute: 'bridge-url' }) accessor bridgeUrl = '';
  /** Chain JSON-RPC URL, when used without `<ehr-provider>`. */
  @property({ attribute: 'rpc-url' }) accessor rpcUrl = '';
  /** Expected chain id, when used without `<ehr-provider>`. */
  @property({ attribute: 'chain-id', type: Number }) accessor chainId = 0;
  /** EhrRegistry contract address, when used without `<ehr-provider>`. */
  @property({ attribute: 'contract-address' }) accessor contractAddress = '';
  /** The hospital whose bridge `bridge-url` is (see `<ehr-provider bridge-hospital>`), when used without `<ehr-provider>`. */
  @property({ attribute: 'bridge-hospital' }) accessor bridgeHospital = '';

  @state() private accessor ownSource: EhrDataSource | undefined;
  private ownSourceKey = '';

  /**
   * Who is signed in, for `Task` arguments of reads the bridge audits: with an explicit
   * `patient-id` nothing else changes when the person signs in through `<ehr-provider>`, yet the
   * bridge that refused the anonymous reads (401) now answers them — so every task that lists it
   * as an argument reads again.
   */
  protected get signedInAs(): string {
    return `${this.session?.account ?? ''}|${this.session?.role ?? ''}`;
  }

  /** The data source in effect, or undefined while none is configured. */
  protected get source(): EhrDataSource | undefined {
    return this.dataSource ?? this.session?.dataSource ?? this.ownSource;
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    super.willUpdate(changed);
    if (this.dataSource || this.session || !this.bridgeUrl || !this.rpcUrl || !this.contractAddress) return;
    const key = [this.bridgeUrl, this.rpcUrl, this.chainId, this.contractAddress, this.bridgeHospital].join(
      '|',
    );
    if (key === this.ownSourceKey) return;
    this.ownSourceKey = key;
    // Loaded on demand so pages that use <ehr-provider> or fixtures never load ethers through here.
    void import('../data/http-chain-data-source.js').then(({ HttpChainDataSource }) => {
      if (this.ownSourceKey !== key) return;
      this.ownSource = new HttpChainDataSource({
        bridgeUrl: this.bridgeUrl,
        rpcUrl: this.rpcUrl,
        chainId: this.chainId,
        contractAddress: this.contractAddress,
        ...(this.bridgeHospital ? { hospital: this.bridgeHospital } : {}),
      });
    });
  }
}

/** Error kinds elements explain to people, with what to do next. */
export interface ErrorStrings {
  unauthorized: string;
  forbidden: string;
  notFound: string;
  gone: string;
  network: string;
  walletRejected: string;
  walletLocked: string;
  wrongNetwork: string;
  noWallet: string;
  reverted: string;
  conflict: string;
  invalid: string;
  fileTooLarge: string;
  unsupportedType: string;
  busy: string;
  unavailable: string;
  unknown: string;
}

export const defaultErrorStrings: ErrorStrings = {
  unauthorized: 'You are not signed in. Sign in with your wallet and try again.',
  forbidden: 'You do not have access. Ask the patient to grant you access.',
  notFound: 'Nothing was found. Check the id and try again.',
  gone: 'This record was erased at the patient’s request; only its anchor remains.',
  network: 'The service could not be reached. Check your connection and retry.',
  walletRejected: 'The request was rejected in your wallet. Try again and approve it to continue.',
  walletLocked: 'Your wallet is locked. Unlock it and try again.',
  wrongNetwork: 'Your wallet is on another network. Switch to the hospital network and try again.',
  noWallet: 'No wallet was found. Install or enable a wallet to make changes.',
  reverted: 'The network refused this change, so nothing was changed.',
  conflict:
    'Someone else changed this record since you opened it. Nothing was saved; reload it to see the current version.',
  invalid: 'The hospital’s system did not accept this. Check what you entered and try again.',
  fileTooLarge: 'The file is too large for the hospital’s system.',
  unsupportedType: 'The hospital’s system does not accept this kind of file.',
  busy: 'The hospital’s system is busy. Wait a moment and try again.',
  unavailable: 'The hospital’s system is unavailable right now. Try again in a few minutes.',
  unknown: 'Something went wrong. Try again; if it keeps happening, contact the hospital.',
};

/**
 * A sentence that says what happened and what to do — never a library's or a server's own text:
 * only messages a data source marked as written for people (`forPeople`, e.g. the contracts'
 * sentence for a custom error) are shown as they are.
 */
export function describeError(error: unknown, s: ErrorStrings = defaultErrorStrings): string {
  if (!(error instanceof DataSourceError)) return s.unknown;
  switch (error.kind) {
    case 'unauthorized':
      return s.unauthorized;
    case 'forbidden':
      return s.forbidden;
    case 'gone':
      return s.gone;
    case 'network':
      return s.network;
    case 'wallet-rejected':
      return s.walletRejected;
    case 'wallet-locked':
      return s.walletLocked;
    case 'wrong-network':
      return s.wrongNetwork;
    case 'no-wallet':
      return s.noWallet;
    case 'conflict':
      return s.conflict;
    default:
  }
  if (error.forPeople && error.message) return error.message;
  switch (error.kind) {
    case 'not-found':
      return s.notFound;
    case 'reverted':
      return s.reverted;
    case 'invalid':
      return error.status === 413 ? s.fileTooLarge : error.status === 415 ? s.unsupportedType : s.invalid;
    default:
      if (error.status === 429) return s.busy;
      if (error.status === 502 || error.status === 503 || error.status === 504) return s.unavailable;
      return s.unknown;
  }
}
