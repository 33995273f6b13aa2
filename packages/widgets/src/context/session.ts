import { createContext } from '@lit/context';
import type { EhrDataSource } from '../data/data-source.js';

/** What the signed-in user is, as the bridge derived it from chain state. */
export type EhrRole = 'admin' | 'hospital' | 'doctor' | 'patient' | 'visitor';

/**
 * Wallet state as `<ehr-provider>` sees it. `read-only` = no EIP-1193 provider (reads work, writes
 * do not); `locked` = a provider exists but exposes no account; `wrong-network` = its chain id is
 * not the configured one.
 */
export type WalletState = 'read-only' | 'locked' | 'connecting' | 'connected' | 'wrong-network' | 'rejected';

/** The session every element consumes from the nearest `<ehr-provider>`. */
export interface EhrSession {
  dataSource: EhrDataSource;
  wallet: WalletState;
  /** The connected account (checksummed), when there is one. */
  account?: string;
  /** Set after Sign-In with Ethereum succeeded. */
  role?: EhrRole;
  /** The patient id the signed-in patient may see (their own). */
  patientId?: string;
  /** Hospital address for hospital or doctor roles. */
  hospital?: string;
}

export const ehrSessionContext = createContext<EhrSession | undefined>(Symbol.for('ehr.session'));
