import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import { setViewport } from '@web/test-runner-commands';
import type { Bundle } from 'fhir/r4';
import type { EhrDataSource } from '../../data/data-source.js';
import { Wallet } from 'ethers';
import { FIXTURE_ACCOUNTS, FixtureDataSource, TestWallet, loadSyntheaBundle } from '../../testing/index.js';
import { shadowQuery, signInThroughProvider, until } from '../../../test/helpers.js';
import './consent-manager.js';
import '../ehr-provider/ehr-provider.js';
import type { ConsentManager } from './consent-manager.component.js';
import type { EhrProvider } from '../ehr-provider/ehr-provider.component.js';

let bundle: Bundle;
before(async () => {
  await setViewport({ width: 1400, height: 2000 });
  bundle = await loadSyntheaBundle('tiny-clemente-kreiger.json');
});

async function manager(ds: EhrDataSource | undefined, patientId: string): Promise<ConsentManager> {
  return fixture<ConsentManager>(
    html`<consent-manager .dataSource=${ds} patient-id=${patientId}></consent-manager>`,
  );
}

function txPhase(el: ConsentManager): string | undefined {
  return el.shadowRoot!.querySelector<HTMLElement>('[part="tx-status"]')?.dataset.phase;
}

function fillGrant(el: ConsentManager, grantee: string, scopes: string[]): void {
  el.shadowRoot!.querySelector<HTMLInputElement>('input[name="grantee"]')!.value = grantee;
  for (const box of el.shadowRoot!.querySelectorAll<HTMLInputElement>('input[name="scope"]'))
    box.checked = scopes.includes(box.value);
}

describe('<consent-manager>', () => {
  it('says what to do without a data source', async () => {
    const el = await manager(undefined, 'x');
    expect(el.shadowRoot!.textContent).to.contain('No data source');
    await expect(el).to.be.accessible();
  });

  it('shows the empty state and an empty access log', async () => {
    const ds = await FixtureDataSource.create({ bundle });
    const el = await manager(ds, ds.patientId);
    await until(
      () => el.shadowRoot!.textContent!.includes('You have not granted anyone access'),
      'empty grants',
    );
    await until(() => el.shadowRoot!.textContent!.includes('No one has accessed'), 'empty log');
    await expect(el).to.be.accessible();
  });

  it('grants through the wallet: pending until mined, then confirmed and listed', async () => {
    const ds = await FixtureDataSource.create({ bundle, manualMining: true });
    const el = await manager(ds, ds.patientId);
    await until(() => el.shadowRoot!.textContent!.includes('You have not granted'), 'loaded');
    fillGrant(el, FIXTURE_ACCOUNTS.hospital, ['observations', 'immunizations']);
    const granted = oneEvent(el, 'ehr-consent-granted');
    el.shadowRoot!.querySelector<HTMLButtonElement>('[part="grant-form"] button[type="submit"]')!.click();
    await until(() => txPhase(el) === 'pending', 'pending tx');
    expect(el.shadowRoot!.querySelector('[part="tx-status"]')!.textContent).to.contain('waiting for a block');
    await expect(el).to.be.accessible();
    ds.mine();
    await until(() => txPhase(el) === 'confirmed' || txPhase(el) === 'failed', 'tx settled');
    expect(el.shadowRoot!.querySelector('[part="tx-status"]')!.textContent).to.contain('Confirmed');
    const event = await granted;
    expect(event.detail.grant.scope).to.deep.equal(['observations', 'immunizations']);
    expect(txPhase(el)).to.equal('confirmed');
    const table = await shadowQuery(el, '[part="grants"]', 'grants table');
    expect(table.textContent).to.contain('General Hospital');
    expect(table.textContent).to.contain('Observations & labs, Immunizations');
    await expect(el).to.be.accessible();
  });

  it('revokes through the wallet', async () => {
    const ds = await FixtureDataSource.create({ bundle });
    await (
      await ds.grant(ds.patientId, {
        grantee: FIXTURE_ACCOUNTS.doctor,
        granteeKind: 'doctor',
        scope: [],
        expiresAt: 0,
      })
    ).wait();
    const el = await manager(ds, ds.patientId);
    const revoke = await shadowQuery<HTMLButtonElement>(el, '[part="grants"] button', 'revoke button');
    expect(revoke.getAttribute('aria-label')).to.contain('Dr. Demo');
    const revoked = oneEvent(el, 'ehr-consent-revoked');
    revoke.click();
    expect((await revoked).detail.grantee).to.equal(FIXTURE_ACCOUNTS.doctor);
    await until(() => el.shadowRoot!.textContent!.includes('You have not granted'), 'grant gone');
  });

  it('shows a failed transaction with the reason and keeps the grants unchanged', async () => {
    const ds = await FixtureDataSource.create({ bundle });
    ds.failNextTransaction('InvalidGrantee');
    const el = await manager(ds, ds.patientId);
    await until(() => el.shadowRoot!.textContent!.includes('You have not granted'), 'loaded');
    fillGrant(el, FIXTURE_ACCOUNTS.visitor, []);
    el.shadowRoot!.querySelector<HTMLButtonElement>('[part="grant-form"] button[type="submit"]')!.click();
    await until(() => txPhase(el) === 'failed', 'failed tx');
    expect(el.shadowRoot!.querySelector('[part="tx-status"]')!.textContent).to.contain('InvalidGrantee');
    expect((await ds.listGrants(ds.patientId)).length).to.equal(0);
    await expect(el).to.be.accessible();
  });

  it('refuses a malformed grantee address before asking the wallet', async () => {
    const ds = await FixtureDataSource.create({ bundle });
    const el = await manager(ds, ds.patientId);
    await until(() => el.shadowRoot!.textContent!.includes('You have not granted'), 'loaded');
    fillGrant(el, 'not-an-address', []);
    el.shadowRoot!.querySelector<HTMLButtonElement>('[part="grant-form"] button[type="submit"]')!.click();
    await until(
      () => el.shadowRoot!.querySelector('#grantee-err')!.textContent!.includes('40 hex digits'),
      'validation',
    );
    expect(ds.calls.some((c) => c.method === 'grant')).to.equal(false);
    await expect(el).to.be.accessible();
  });

  it('lets the host veto a grant with the cancelable request event', async () => {
    const ds = await FixtureDataSource.create({ bundle });
    const el = await manager(ds, ds.patientId);
    await until(() => el.shadowRoot!.textContent!.includes('You have not granted'), 'loaded');
    el.addEventListener('ehr-consent-grant-request', (e) => e.preventDefault());
    fillGrant(el, FIXTURE_ACCOUNTS.hospital, []);
    el.shadowRoot!.querySelector<HTMLButtonElement>('[part="grant-form"] button[type="submit"]')!.click();
    await el.updateComplete;
    expect(ds.calls.some((c) => c.method === 'grant')).to.equal(false);
  });

  it('lists who read what in the access log', async () => {
    const ds = await FixtureDataSource.create({ bundle });
    await ds.getRecord(ds.patientId, ds.keys()[0]!);
    const el = await manager(ds, ds.patientId);
    const log = await shadowQuery(el, '[part="access-log"]', 'access log');
    expect(log.textContent).to.contain(FIXTURE_ACCOUNTS.doctor);
    expect(log.textContent).to.contain(ds.keys()[0]!.split('/').slice(0, 2).join('/'));
    await expect(el).to.be.accessible();
  });

  it('pages the access log: "Show older" appends older pages until every entry is listed once', async () => {
    const ds = await FixtureDataSource.create({ bundle });
    const read = (i: number) => ({
      at: new Date(Date.UTC(2026, 0, 1 + i)).toISOString(),
      actor: FIXTURE_ACCOUNTS.doctor,
      actorRole: 'doctor',
      action: 'read',
      what: `Observation/o${i}`,
      outcome: 'success' as const,
    });
    ds.addAccessLog([0, 1, 2, 3, 4, 5, 6].map(read));
    const el = await fixture<ConsentManager>(
      html`<consent-manager .dataSource=${ds} patient-id=${ds.patientId} log-page-size="3"></consent-manager>`,
    );
    const shown = () =>
      [...el.shadowRoot!.querySelectorAll('[part="access-log"] tbody tr')].map(
        (r) => r.children[3]!.textContent,
      );
    const older = () => el.shadowRoot!.querySelector<HTMLButtonElement>('[part="show-older"]');
    await until(() => shown().length === 3, 'the first page');
    expect(shown()).to.deep.equal(['Observation/o6', 'Observation/o5', 'Observation/o4']);
    // A read logged meanwhile goes before the first page; it does not shift the older pages.
    ds.addAccessLog([read(7)]);
    older()!.click();
    await until(() => shown().length === 6, 'the second page');
    await expect(el).to.be.accessible();
    older()!.click();
    await until(() => shown().length === 7, 'the last page');
    expect(shown()).to.deep.equal([
      'Observation/o6',
      'Observation/o5',
      'Observation/o4',
      'Observation/o3',
      'Observation/o2',
      'Observation/o1',
      'Observation/o0',
    ]);
    expect(older(), 'no "Show older" after the last page').to.equal(null);
    expect(el.shadowRoot!.querySelector('.log-footer [role="status"]')!.textContent).to.equal(
      'All 7 entries shown.',
    );
    await expect(el).to.be.accessible();
  });
});

describe('<consent-manager> inside <ehr-provider>', () => {
  it('with an explicit patient-id, reads the access log again once the person signs in through <ehr-provider>', async () => {
    // Like the real bridge: the access log is refused (401) before Sign-In with Ethereum.
    const ds = await FixtureDataSource.create({ bundle, requireSignIn: true });
    ds.addAccessLog([
      {
        at: '2026-01-02T10:00:00Z',
        actor: FIXTURE_ACCOUNTS.doctor,
        actorRole: 'doctor',
        action: 'read',
        what: 'Observation/o1',
        outcome: 'success',
      },
    ]);
    // anvil's well-known dev key #8 (public test key).
    const wallet = new TestWallet(
      new Wallet('0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97'),
      1337,
    );
    const provider = await fixture<EhrProvider>(
      html`<ehr-provider chain-id="1337" .ethereum=${wallet} .dataSource=${ds}><consent-manager patient-id=${ds.patientId}></consent-manager></ehr-provider>`,
    );
    const el = provider.querySelector<ConsentManager>('consent-manager')!;
    const alerts = () => [...el.shadowRoot!.querySelectorAll('[role="alert"]')].map((a) => a.textContent!);
    await until(
      () => alerts().some((a) => a.includes('You are not signed in')),
      'the anonymous access-log read refused',
    );
    expect(el.shadowRoot!.querySelector('[part="access-log"]')).to.equal(null);
    await signInThroughProvider(provider);
    const log = await shadowQuery(el, '[part="access-log"]', 'the access log read again after sign-in');
    expect(log.textContent).to.contain('Observation/o1');
    expect(
      alerts().filter((a) => a.includes('not signed in')),
      'no stale refusal',
    ).to.deep.equal([]);
    expect(el.patientId, 'the page-given patient stays').to.equal(ds.patientId);
    await expect(provider).to.be.accessible();
  });
});
