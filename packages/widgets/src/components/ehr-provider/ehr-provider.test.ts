import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import { setViewport } from '@web/test-runner-commands';
import { Wallet, verifyMessage } from 'ethers';
import type { Bundle } from 'fhir/r4';
import { FixtureDataSource, TestWallet } from '../../testing/index.js';
import { loadSyntheaBundle } from '@ehr-anchor/testkit/browser-fixtures';
import { shadowQuery, until } from '../../../test/helpers.js';
import './ehr-provider.js';
import '../consent-manager/consent-manager.js';
import '../ehr-viewer/ehr-viewer.js';
import type { EhrProvider } from './ehr-provider.component.js';
import type { ConsentManager } from '../consent-manager/consent-manager.component.js';
import type { EhrViewer } from '../ehr-viewer/ehr-viewer.component.js';

let bundle: Bundle;
// anvil's well-known dev key #8 (public test key), the fixture patient's wallet.
const PATIENT_KEY = '0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97';
before(async () => {
  await setViewport({ width: 1400, height: 2000 });
  bundle = await loadSyntheaBundle('tiny-clemente-kreiger.json');
});

function status(el: EhrProvider): string {
  return el.shadowRoot!.querySelector('[part="status"]')!.textContent!.replace(/\s+/g, ' ').trim();
}

function button(el: EhrProvider): HTMLButtonElement | null {
  return el.shadowRoot!.querySelector<HTMLButtonElement>('[part="bar"] button');
}

describe('<ehr-provider>', () => {
  it('says how to configure it when it has no settings', async () => {
    const el = await fixture<EhrProvider>(html`<ehr-provider .ethereum=${undefined}></ehr-provider>`);
    expect(status(el)).to.contain('Set rpc-url, chain-id and contract-address');
    await expect(el).to.be.accessible();
  });

  it('works read-only without a wallet and provides the session to the elements inside', async () => {
    const ds = await FixtureDataSource.create({ bundle });
    const el = await fixture<EhrProvider>(
      html`<ehr-provider .ethereum=${undefined} .dataSource=${ds}><ehr-viewer patient-id=${ds.patientId}></ehr-viewer></ehr-provider>`,
    );
    await until(() => status(el).includes('read-only'), 'read-only');
    expect(button(el)).to.equal(null);
    const viewer = el.querySelector<EhrViewer>('ehr-viewer')!;
    await shadowQuery(
      viewer,
      '[part="badge"][data-state="verified"]',
      'a verified record through the provided session',
    );
    await expect(el).to.be.accessible();
  });

  it('connects a locked wallet, signs in with Ethereum, and gives a patient their own consents', async () => {
    const ds = await FixtureDataSource.create({ bundle });
    const wallet = new TestWallet(new Wallet(PATIENT_KEY), 1337, { unlocked: false });
    const el = await fixture<EhrProvider>(
      html`<ehr-provider chain-id="1337" .ethereum=${wallet} .dataSource=${ds}><consent-manager></consent-manager></ehr-provider>`,
    );
    await until(() => status(el).includes('locked'), 'locked');
    await expect(el).to.be.accessible();
    button(el)!.click();
    await until(() => status(el).includes('Wallet connected'), 'connected');
    expect(button(el)!.textContent).to.contain('Sign in');
    const signedIn = oneEvent(el, 'ehr-signed-in');
    button(el)!.click();
    expect((await signedIn).detail).to.deep.equal({ account: wallet.address, role: 'patient' });
    await until(() => status(el).includes('Signed in as patient'), 'signed in');
    const [signIn] = ds.signIns;
    expect(signIn!.message).to.contain(`${wallet.address}\n`);
    expect(verifyMessage(signIn!.message, signIn!.signature)).to.equal(wallet.address);
    const consents = el.querySelector<ConsentManager>('consent-manager')!;
    await until(
      () => consents.shadowRoot!.textContent!.includes('You have not granted anyone access'),
      'consents of the signed-in patient',
    );
    await expect(el).to.be.accessible();
  });

  it('reports a rejected connection and lets the person try again', async () => {
    const ds = await FixtureDataSource.create({ bundle });
    const wallet = new TestWallet(new Wallet(PATIENT_KEY), 1337, { unlocked: false });
    wallet.rejectNext();
    const el = await fixture<EhrProvider>(
      html`<ehr-provider chain-id="1337" .ethereum=${wallet} .dataSource=${ds}></ehr-provider>`,
    );
    await until(() => button(el)?.textContent?.includes('Connect'), 'connect button');
    const changed = oneEvent(el, 'ehr-wallet-change');
    button(el)!.click();
    await changed;
    await until(() => status(el).includes('rejected'), 'rejected');
    await expect(el).to.be.accessible();
    button(el)!.click();
    await until(() => status(el).includes('Wallet connected'), 'connected on retry');
  });

  it('detects the wrong network and switches it', async () => {
    const ds = await FixtureDataSource.create({ bundle });
    const wallet = new TestWallet(new Wallet(PATIENT_KEY), 1);
    const el = await fixture<EhrProvider>(
      html`<ehr-provider chain-id="1337" .ethereum=${wallet} .dataSource=${ds}></ehr-provider>`,
    );
    await until(() => status(el).includes('another network'), 'wrong network');
    await expect(el).to.be.accessible();
    button(el)!.click();
    await until(() => status(el).includes('Wallet connected'), 'switched');
    expect(wallet.chainId).to.equal(1337);
  });

  it('reports a rejected sign-in signature', async () => {
    const ds = await FixtureDataSource.create({ bundle });
    const wallet = new TestWallet(new Wallet(PATIENT_KEY), 1337);
    const el = await fixture<EhrProvider>(
      html`<ehr-provider chain-id="1337" .ethereum=${wallet} .dataSource=${ds}></ehr-provider>`,
    );
    await until(() => button(el)?.textContent?.includes('Sign in'), 'sign-in button');
    wallet.rejectNext();
    button(el)!.click();
    await until(() => status(el).includes('approve it to continue'), 'rejected sign-in explained');
    expect(ds.signIns.length).to.equal(0);
  });

  it('notices the wallet being locked', async () => {
    const ds = await FixtureDataSource.create({ bundle });
    const wallet = new TestWallet(new Wallet(PATIENT_KEY), 1337);
    const el = await fixture<EhrProvider>(
      html`<ehr-provider chain-id="1337" .ethereum=${wallet} .dataSource=${ds}></ehr-provider>`,
    );
    await until(() => status(el).includes('Wallet connected'), 'connected');
    wallet.lock();
    await until(() => status(el).includes('locked'), 'locked');
  });
});
