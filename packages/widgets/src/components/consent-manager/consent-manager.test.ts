import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import { setViewport } from '@web/test-runner-commands';
import type { Bundle } from 'fhir/r4';
import { SCOPE_CATEGORIES, type EhrDataSource } from '../../data/data-source.js';
import { SCOPES } from '@ehr-anchor/contracts';
import { Wallet } from 'ethers';
import { FIXTURE_ACCOUNTS, FixtureDataSource, TestWallet } from '../../testing/index.js';
import { loadSyntheaBundle } from '@ehr-anchor/testkit/browser-fixtures';
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

function fillGrantee(el: ConsentManager, grantee: string): void {
  el.shadowRoot!.querySelector<HTMLInputElement>('input[name="grantee"]')!.value = grantee;
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
    // The default expiry the patient saw: 90 days, to the end of that day.
    const ninety = new Date();
    ninety.setHours(0, 0, 0, 0);
    ninety.setDate(ninety.getDate() + 91);
    expect(event.detail.grant.expiresAt).to.equal(ninety.getTime() / 1000);
    expect(txPhase(el)).to.equal('confirmed');
    const table = await shadowQuery(el, '[part="grants"]', 'grants table');
    expect(table.textContent).to.contain('General Hospital');
    expect(table.querySelector('td.scope')!.textContent).to.equal('Tests and measurements, Vaccinations');
    await expect(el).to.be.accessible();
  });

  it('revokes through the wallet', async () => {
    const ds = await FixtureDataSource.create({ bundle });
    await (
      await ds.grant(ds.patientId, {
        grantee: FIXTURE_ACCOUNTS.doctor,
        granteeKind: 'doctor',
        scope: ['demographics', 'observations'],
        expiresAt: 0,
      })
    ).wait();
    const el = await manager(ds, ds.patientId);
    const revoke = await shadowQuery<HTMLButtonElement>(el, '[part="grants"] button', 'revoke button');
    expect(revoke.getAttribute('aria-label')).to.contain('Dr. Demo');
    // Revoking asks first, in a modal dialog that says what ends; Cancel changes nothing.
    revoke.click();
    const dialog = await shadowQuery<HTMLDialogElement>(
      el,
      'dialog[part="revoke-dialog"][open]',
      'confirmation',
    );
    expect(dialog.textContent).to.contain('Revoke access of Dr. Demo?');
    expect(dialog.textContent).to.contain('Who you are, Tests and measurements');
    await expect(el).to.be.accessible();
    dialog.querySelector<HTMLButtonElement>('button[value="cancel"]')!.click();
    await until(() => !dialog.open, 'dialog closed');
    await el.updateComplete;
    expect(ds.calls.some((c) => c.method === 'revoke')).to.equal(false);
    revoke.click();
    const again = await shadowQuery<HTMLDialogElement>(
      el,
      'dialog[part="revoke-dialog"][open]',
      'confirmation',
    );
    const revoked = oneEvent(el, 'ehr-consent-revoked');
    again.querySelector<HTMLButtonElement>('button[value="revoke"]')!.click();
    expect((await revoked).detail.grantee).to.equal(FIXTURE_ACCOUNTS.doctor);
    await until(() => el.shadowRoot!.textContent!.includes('You have not granted'), 'grant gone');
  });

  it('shows a failed transaction with the reason and keeps the grants unchanged', async () => {
    const ds = await FixtureDataSource.create({ bundle });
    ds.failNextTransaction('InvalidGrantee');
    const el = await manager(ds, ds.patientId);
    await until(() => el.shadowRoot!.textContent!.includes('You have not granted'), 'loaded');
    fillGrant(el, FIXTURE_ACCOUNTS.visitor, ['allergies']);
    el.shadowRoot!.querySelector<HTMLButtonElement>('[part="grant-form"] button[type="submit"]')!.click();
    await until(() => txPhase(el) === 'failed', 'failed tx');
    const status = el.shadowRoot!.querySelector('[part="tx-status"]')!.textContent!;
    // The contracts' sentence for the custom error, never its name.
    expect(status).to.contain(
      'is not a hospital or a doctor of the network (any more), so it cannot be given access.',
    );
    expect(status).not.to.contain('InvalidGrantee');
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
      () => el.shadowRoot!.querySelector('#grant-err')!.textContent!.includes('40 hex digits'),
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
    fillGrant(el, FIXTURE_ACCOUNTS.hospital, ['documents']);
    el.shadowRoot!.querySelector<HTMLButtonElement>('[part="grant-form"] button[type="submit"]')!.click();
    await el.updateComplete;
    expect(ds.calls.some((c) => c.method === 'grant')).to.equal(false);
  });

  it('makes a grant without an explicit scope impossible: no box and no Everything is refused before the wallet', async () => {
    const ds = await FixtureDataSource.create({ bundle });
    const el = await manager(ds, ds.patientId);
    await until(() => el.shadowRoot!.textContent!.includes('You have not granted'), 'loaded');
    fillGrant(el, FIXTURE_ACCOUNTS.hospital, []);
    el.shadowRoot!.querySelector<HTMLButtonElement>('[part="grant-form"] button[type="submit"]')!.click();
    await until(
      () =>
        el
          .shadowRoot!.querySelector('#grant-err')!
          .textContent!.includes('Choose at least one kind of record'),
      'scope required',
    );
    expect(ds.calls.some((c) => c.method === 'grant')).to.equal(false);
    // The data source refuses it too (as the contract does: EmptyScope).
    let refused = false;
    await ds
      .grant(ds.patientId, {
        grantee: FIXTURE_ACCOUNTS.hospital,
        granteeKind: 'hospital',
        scope: [],
        expiresAt: 0,
      })
      .catch(() => (refused = true));
    expect(refused).to.equal(true);
    await expect(el).to.be.accessible();
  });

  it('offers every scope with a plain explanation, demographics included, and Everything as an explicit choice', async () => {
    const ds = await FixtureDataSource.create({ bundle });
    const el = await manager(ds, ds.patientId);
    await until(() => el.shadowRoot!.textContent!.includes('You have not granted'), 'loaded');
    const boxes = [...el.shadowRoot!.querySelectorAll<HTMLInputElement>('input[name="scope"]')];
    expect(boxes.map((b) => b.value)).to.deep.equal([...SCOPE_CATEGORIES]);
    // The same categories, in bits, as the contract's SCOPES.
    expect([...SCOPE_CATEGORIES].sort()).to.deep.equal(Object.keys(SCOPES).sort());
    const demographics = boxes.find((b) => b.value === 'demographics')!.closest('label')!.textContent!;
    expect(demographics).to.contain('find you in search');
    for (const b of boxes) expect(b.closest('label')!.textContent!.trim().length).to.be.greaterThan(20);
    el.shadowRoot!.querySelector<HTMLInputElement>('input[name="everything"]')!.click();
    fillGrantee(el, FIXTURE_ACCOUNTS.hospital);
    el.shadowRoot!.querySelector<HTMLInputElement>('input[name="expiry"][value="never"]')!.click();
    const granted = oneEvent(el, 'ehr-consent-granted');
    el.shadowRoot!.querySelector<HTMLButtonElement>('[part="grant-form"] button[type="submit"]')!.click();
    const event = await granted;
    expect(event.detail.grant.scope).to.deep.equal([...SCOPE_CATEGORIES]);
    expect(event.detail.grant.expiresAt).to.equal(0);
    const [grant] = await ds.listGrants(ds.patientId);
    expect(grant!.scopeBits).to.equal(Object.values(SCOPES).reduce((m, b) => m | b, 0));
  });

  it('renders two different grants differently: exact scope bits and expiry from chain state', async () => {
    const ds = await FixtureDataSource.create({ bundle });
    const inAWeek = Math.floor(Date.now() / 1000) + 7 * 86_400;
    await (
      await ds.grant(ds.patientId, {
        grantee: FIXTURE_ACCOUNTS.hospital,
        granteeKind: 'hospital',
        scope: ['observations'],
        expiresAt: inAWeek,
      })
    ).wait();
    await (
      await ds.grant(ds.patientId, {
        grantee: FIXTURE_ACCOUNTS.doctor,
        granteeKind: 'doctor',
        scope: [...SCOPE_CATEGORIES],
        expiresAt: 0,
      })
    ).wait();
    const el = await manager(ds, ds.patientId);
    const table = await shadowQuery(el, '[part="grants"]', 'grants table');
    const rows = [...table.querySelectorAll('tbody tr')];
    const text = rows.map((r) =>
      [...r.querySelectorAll('td')].slice(1, 4).map((td) => td.textContent!.trim()),
    );
    expect(text[0]![1]).to.equal('Tests and measurements');
    expect(text[0]![2]).to.contain(String(new Date(inAWeek * 1000).getFullYear()));
    expect(text[1]![1]).to.match(/^Everything \(Who you are, Visits, /);
    expect(text[1]![2]).to.equal('Until you revoke it');
    expect(rows[0]!.getAttribute('data-scope-bits')).to.equal(String(SCOPES.observations));
    expect(JSON.stringify(text[0])).to.not.equal(JSON.stringify(text[1]));
  });

  it('shows a grant to a removed hospital as ended, and re-adding the hospital does not revive it', async () => {
    const ds = await FixtureDataSource.create({ bundle });
    await (
      await ds.grant(ds.patientId, {
        grantee: FIXTURE_ACCOUNTS.hospital,
        granteeKind: 'hospital',
        scope: ['documents'],
        expiresAt: 0,
      })
    ).wait();
    await (await ds.removeHospital(FIXTURE_ACCOUNTS.hospital)).wait();
    await (
      await ds.addHospital({
        address: FIXTURE_ACCOUNTS.hospital,
        name: 'General Hospital',
        bridgeSigner: FIXTURE_ACCOUNTS.otherDoctor,
        keyWrappingKey: '0x01',
      })
    ).wait();
    const el = await manager(ds, ds.patientId);
    const table = await shadowQuery(el, '[part="grants"]', 'grants table');
    const status = table.querySelector('td.status')!;
    expect(status.getAttribute('data-status')).to.equal('ended');
    expect(status.textContent).to.contain('Ended');
    expect(status.textContent).to.contain(
      'was removed from the network after you gave this grant, so it is no longer in force',
    );
    expect(status.textContent).to.contain('Adding the hospital again does not bring it back');
    expect((await ds.listGrants(ds.patientId))[0]!.active).to.equal(false);
  });

  it('shows a grant to a removed doctor as ended, in words about the doctor', async () => {
    const ds = await FixtureDataSource.create({ bundle });
    await (
      await ds.grant(ds.patientId, {
        grantee: FIXTURE_ACCOUNTS.doctor,
        granteeKind: 'doctor',
        scope: ['observations'],
        expiresAt: 0,
      })
    ).wait();
    await (await ds.removeDoctor(FIXTURE_ACCOUNTS.hospital, FIXTURE_ACCOUNTS.doctor)).wait();
    const el = await manager(ds, ds.patientId);
    const table = await shadowQuery(el, '[part="grants"]', 'grants table');
    const status = table.querySelector('td.status')!;
    expect(status.getAttribute('data-status')).to.equal('ended');
    expect(status.textContent).to.contain('Adding the doctor again does not bring it back');
  });

  it("lists who read what in the access log in words: the doctor's name, the record's title, what happened", async () => {
    const ds = await FixtureDataSource.create({ bundle });
    const key = ds.keys()[0]!;
    const { summary } = await ds.getRecord(ds.patientId, key);
    const el = await manager(ds, ds.patientId);
    const log = await shadowQuery(el, '[part="access-log"]', 'access log');
    const row = () => log.querySelector('tbody tr')!;
    await until(() => row().textContent!.includes('Dr. Demo'), "the doctor's name");
    expect(row().children[3]!.textContent!.trim(), "the record's title").to.equal(summary.title);
    expect(row().children[2]!.textContent!.trim()).to.equal('Read');
    expect(row().children[4]!.textContent!.trim()).to.equal('Allowed');
    // The address is there for who needs it: shortened on screen, whole on hover and in data-address.
    const address = row().querySelector<HTMLElement>('[data-address]')!;
    expect(address.textContent!.trim()).to.equal(
      `${FIXTURE_ACCOUNTS.doctor.slice(0, 6)}…${FIXTURE_ACCOUNTS.doctor.slice(-4)}`,
    );
    expect(address.title).to.equal(FIXTURE_ACCOUNTS.doctor);
    expect(address.dataset.address).to.equal(FIXTURE_ACCOUNTS.doctor);
    expect(log.textContent, 'no "Observation#…" or record key on screen').not.to.contain(key);
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
      [...el.shadowRoot!.querySelectorAll<HTMLElement>('[part="access-log"] tbody tr')].map(
        (r) => r.dataset.what,
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
    expect(log.querySelector<HTMLElement>('tbody tr')!.dataset.what).to.equal('Observation/o1');
    expect(
      alerts().filter((a) => a.includes('not signed in')),
      'no stale refusal',
    ).to.deep.equal([]);
    expect(el.patientId, 'the page-given patient stays').to.equal(ds.patientId);
    await expect(provider).to.be.accessible();
  });
});
