import { expect, fixture, html } from '@open-wc/testing';
import { Wallet } from 'ethers';
import type { Bundle } from 'fhir/r4';
import { FixtureDataSource, TestWallet } from '../testing/index.js';
import { loadSyntheaBundle } from '@ehr-anchor/testkit/browser-fixtures';
import { until } from '../../test/helpers.js';
import '../components/ehr-provider/ehr-provider.js';
import type { EhrProvider } from '../components/ehr-provider/ehr-provider.component.js';
import { Eip1193Events, ProviderRpcError } from './eip1193.js';

// anvil's well-known dev keys #8 and #9 (public test keys).
const KEYS = [
  '0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97',
  '0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6',
];

/** An in-page wallet built the way the demo portal's dev wallet is: Eip1193Events plus `request`, switching accounts by key. */
class KeySwitchingWallet extends Eip1193Events {
  private address: string | undefined;
  use(key: string | undefined): void {
    this.address = key ? new Wallet(key).address : undefined;
    this.emit('accountsChanged', this.address ? [this.address] : []);
  }
  async request({ method }: { method: string }): Promise<unknown> {
    if (method === 'eth_accounts' || method === 'eth_requestAccounts')
      return this.address ? [this.address] : [];
    if (method === 'eth_chainId') return '0x539';
    throw new ProviderRpcError(4200, `Unsupported method ${method}`);
  }
}

let bundle: Bundle;
before(async () => {
  bundle = await loadSyntheaBundle('tiny-clemente-kreiger.json');
});

const status = (el: EhrProvider) =>
  el.shadowRoot!.querySelector('[part="status"]')!.textContent!.replace(/\s+/g, ' ');

describe('@ehr-anchor/widgets/eip1193.js (shared by TestWallet and the demo dev wallet)', () => {
  it('ProviderRpcError is an Error with the EIP-1193 code', () => {
    const e = new ProviderRpcError(4001, 'User rejected the request.');
    expect([e instanceof Error, e.name, e.code, e.message]).to.deep.equal([
      true,
      'ProviderRpcError',
      4001,
      'User rejected the request.',
    ]);
  });

  it('drives <ehr-provider>: an account switch reaches it through the registry, and it lets go of its listeners when removed', async () => {
    const ds = await FixtureDataSource.create({ bundle });
    const wallet = new KeySwitchingWallet();
    const el = await fixture<EhrProvider>(
      html`<ehr-provider chain-id="1337" .ethereum=${wallet} .dataSource=${ds}></ehr-provider>`,
    );
    expect(
      [wallet.listenerCount('accountsChanged'), wallet.listenerCount('chainChanged')],
      'the provider subscribed',
    ).to.deep.equal([1, 1]);
    await until(() => status(el).includes('locked'), 'no account yet: locked');
    wallet.use(KEYS[0]);
    await until(() => status(el).includes('Wallet connected'), 'connected after accountsChanged');
    wallet.use(undefined);
    await until(() => status(el).includes('locked'), 'locked again after accountsChanged with no account');
    el.remove();
    expect(
      [wallet.listenerCount('accountsChanged'), wallet.listenerCount('chainChanged')],
      'removeListener through the registry',
    ).to.deep.equal([0, 0]);
  });

  it('is what TestWallet builds on: lock() tells the listeners', async () => {
    const wallet = new TestWallet(new Wallet(KEYS[1]!), 1337);
    expect(wallet).to.be.instanceOf(Eip1193Events);
    const heard: unknown[] = [];
    const listener = (accounts: unknown) => heard.push(accounts);
    wallet.on('accountsChanged', listener);
    wallet.lock();
    wallet.removeListener('accountsChanged', listener);
    wallet.lock();
    expect(heard).to.deep.equal([[]]);
  });
});
