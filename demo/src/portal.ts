/**
 * What both portal pages share: the wallet choice (the browser's wallet when there is one, else
 * the dev-key wallet with a role switcher), and the demo server's helpers.
 */
import { DevWallet } from './dev-wallet.js';
import type { DemoAccount, PortalConfig } from './config.js';

export interface Eip1193Like {
  request(args: { method: string; params?: unknown[] | Record<string, unknown> }): Promise<unknown>;
  on?(event: string, listener: (...args: unknown[]) => void): unknown;
  removeListener?(event: string, listener: (...args: unknown[]) => void): unknown;
}

export interface WalletChoice {
  ethereum: Eip1193Like;
  /** Set when the page signs with the dev keys (no browser wallet). */
  dev?: DevWallet;
}

/** The demo server's `config.json` for this page. */
export async function loadConfig(): Promise<PortalConfig> {
  const response = await fetch(new URL('config.json', document.baseURI));
  if (!response.ok) throw new Error(`config.json: HTTP ${response.status}`);
  return (await response.json()) as PortalConfig;
}

/** `window.ethereum` when a wallet extension is installed, else a dev-key wallet on the stack's chain. */
export function chooseWallet(config: PortalConfig): WalletChoice {
  const injected = (window as { ethereum?: Eip1193Like }).ethereum;
  if (injected) return { ethereum: injected };
  const dev = new DevWallet(config.rpcUrl, config.chainId);
  return { ethereum: dev, dev };
}

/** The role in the URL (`?role=patient`), remembered per tab, else the first account. */
export function initialRole(config: PortalConfig): DemoAccount {
  const wanted = new URL(location.href).searchParams.get('role') ?? sessionStorage.getItem('ehr-demo-role');
  return config.accounts.find((a) => a.role === wanted) ?? config.accounts[0]!;
}

export function rememberRole(role: string): void {
  sessionStorage.setItem('ehr-demo-role', role);
  const url = new URL(location.href);
  url.searchParams.set('role', role);
  history.replaceState(null, '', url);
}

/** Roles that see each panel of the portal. */
export const PANELS = {
  patient: ['patient'],
  doctor: ['doctorA', 'doctorB'],
  upload: ['healthWorker'],
  admin: ['admin', 'hospitalA', 'hospitalB', 'visitor'],
} as const;

export interface DeskEntry {
  sample: string;
  subject: string;
}

/** The registration desk: each sample patient's pseudonymous subject (what the hospital gives the patient). */
export async function loadDesk(): Promise<DeskEntry[]> {
  const response = await fetch(new URL('api/desk', document.baseURI));
  return response.ok ? ((await response.json()) as DeskEntry[]) : [];
}

export interface ProviderLike extends HTMLElement {
  session?: { dataSource?: unknown; role?: string; patientId?: string };
  refreshWallet(): Promise<void>;
  signIn(): Promise<void>;
}

/**
 * Resolves once `<ehr-provider>` has published the session of a sign-in: it dispatches
 * `ehr-signed-in` first and updates `session` (role, patient) in its next render.
 */
export async function sessionSettled(provider: ProviderLike): Promise<void> {
  await (provider as ProviderLike & { updateComplete?: Promise<unknown> }).updateComplete;
}

/**
 * Signs in with the account now in the wallet, once `<ehr-provider>` has built its data source
 * (it loads the HTTP+chain source on demand, so right after the page loads there may be none yet).
 */
export async function signInWhenReady(provider: ProviderLike, timeoutMs = 15_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!provider.session?.dataSource && performance.now() < deadline)
    await new Promise((r) => setTimeout(r, 50));
  await provider.refreshWallet();
  await provider.signIn();
}
