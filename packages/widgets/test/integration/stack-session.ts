/**
 * What the tests against the real stack share (test/integration/stack.test.ts and
 * src/components/clinical-entry/clinical-entry.integration.ts): an `<ehr-provider>` on the stack
 * with a TestWallet signing with one of anvil's dev keys and sending through anvil, and Sign-In
 * with Ethereum through its own button, as a person would.
 */
import { fixture, html } from '@open-wc/testing';
import { Wallet } from 'ethers';
import { TestWallet } from '../../src/testing/index.js';
import { until } from '../helpers.js';
import type { EhrProvider } from '../../src/components/ehr-provider/ehr-provider.component.js';
import '../../src/components/ehr-provider/ehr-provider.js';

/** The stack's settings as the test server's `/__…stack.json` gives them. */
export interface StackSettings {
  bridgeUrl: string;
  rpcUrl: string;
  chainId: number;
  contractAddress: string;
  subject: string;
}

/** The provider's status line (wallet state or "Signed in as …"). */
export function providerStatus(el: EhrProvider): string {
  return el.shadowRoot!.querySelector('[part="status"]')?.textContent?.replace(/\s+/g, ' ') ?? '';
}

/** An `<ehr-provider>` on the stack around `inner`, its wallet connected, not signed in yet. */
export function providerOn(
  stack: StackSettings,
  key: string,
  inner: ReturnType<typeof html>,
): Promise<EhrProvider> {
  const wallet = new TestWallet(new Wallet(key), stack.chainId, { rpcUrl: stack.rpcUrl });
  return fixture<EhrProvider>(
    html`<ehr-provider bridge-url=${stack.bridgeUrl} rpc-url=${stack.rpcUrl} chain-id=${stack.chainId} contract-address=${stack.contractAddress} .ethereum=${wallet}
      >${inner}</ehr-provider
    >`,
  );
}

/** Clicks "Sign in" and waits until the bridge answered with the role. */
export async function signIn(el: EhrProvider): Promise<void> {
  await until(
    () => el.shadowRoot!.querySelector('[part="bar"] button')?.textContent?.includes('Sign in'),
    'sign-in button',
    60_000,
  );
  el.shadowRoot!.querySelector<HTMLButtonElement>('[part="bar"] button')!.click();
  await until(() => providerStatus(el).includes('Signed in as'), 'signed in', 60_000);
}

/** `providerOn` + `signIn`. */
export async function signedIn(
  stack: StackSettings,
  key: string,
  inner: ReturnType<typeof html>,
): Promise<EhrProvider> {
  const el = await providerOn(stack, key, inner);
  await signIn(el);
  return el;
}
