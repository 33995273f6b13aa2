import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import { setViewport } from '@web/test-runner-commands';
import type { Bundle } from 'fhir/r4';
import { DataSourceError, type EhrDataSource } from '../../data/data-source.js';
import { FIXTURE_ACCOUNTS, FixtureDataSource } from '../../testing/index.js';
import { loadSyntheaBundle } from '@ehr-anchor/testkit/browser-fixtures';
import { shadowQuery, until } from '../../../test/helpers.js';
import './ehr-admin.js';
import type { EhrAdmin } from './ehr-admin.component.js';

let bundle: Bundle;
before(async () => {
  await setViewport({ width: 1400, height: 2000 });
  bundle = await loadSyntheaBundle('tiny-clemente-kreiger.json');
});

async function admin(ds: EhrDataSource | undefined, view: string, hospital = ''): Promise<EhrAdmin> {
  return fixture<EhrAdmin>(html`<ehr-admin .dataSource=${ds} view=${view} hospital=${hospital}></ehr-admin>`);
}

function fill(el: EhrAdmin, values: Record<string, string>): void {
  for (const [name, value] of Object.entries(values)) {
    const field = el.shadowRoot!.querySelector<HTMLInputElement | HTMLSelectElement>(`[name="${name}"]`)!;
    field.value = value;
  }
}

/** Answers the open confirmation dialog; returns its text. */
async function answer(el: EhrAdmin, confirm: boolean): Promise<string> {
  const dialog = await shadowQuery<HTMLDialogElement>(
    el,
    'dialog[part="confirm-dialog"][open]',
    'the confirmation',
  );
  const text = dialog.textContent!.replace(/\s+/g, ' ');
  dialog.querySelector<HTMLButtonElement>(`button[value="${confirm ? 'confirm' : 'cancel'}"]`)!.click();
  await until(() => !dialog.open, 'the dialog closed');
  return text;
}

const phase = (el: EhrAdmin): string | undefined =>
  el.shadowRoot!.querySelector<HTMLElement>('[part="tx-status"]')?.dataset.phase;

describe('<ehr-admin>', () => {
  it('says what to do without a data source', async () => {
    const el = await admin(undefined, 'network');
    expect(el.shadowRoot!.textContent).to.contain('No data source');
    await expect(el).to.be.accessible();
  });

  it('lists hospitals and adds one through a pending then confirmed transaction', async () => {
    const ds = await FixtureDataSource.create({ bundle, manualMining: true });
    const el = await admin(ds, 'network');
    const table = await shadowQuery(el, '[part="hospitals"]', 'hospitals');
    expect(table.textContent).to.contain('General Hospital');
    await expect(el).to.be.accessible();
    fill(el, {
      name: 'Hillside Hospital',
      address: FIXTURE_ACCOUNTS.visitor,
      bridgeSigner: FIXTURE_ACCOUNTS.patient,
    });
    const changed = oneEvent(el, 'ehr-admin-change');
    el.shadowRoot!.querySelector<HTMLButtonElement>('form button[type="submit"]')!.click();
    await until(() => phase(el) === 'pending', 'pending');
    await expect(el).to.be.accessible();
    ds.mine();
    expect((await changed).detail).to.include({ action: 'add-hospital', target: FIXTURE_ACCOUNTS.visitor });
    await until(
      () => el.shadowRoot!.querySelector('[part="hospitals"]')!.textContent!.includes('Hillside Hospital'),
      'new hospital listed',
    );
  });

  it('removes a hospital only after a confirmation that names it and says what ends', async () => {
    const ds = await FixtureDataSource.create({ bundle });
    const el = await admin(ds, 'network');
    const remove = await shadowQuery<HTMLButtonElement>(
      el,
      '[part="hospitals"] button[aria-label="Remove Riverside Clinic"]',
      'remove button',
    );
    remove.click();
    const asked = await answer(el, false);
    expect(asked).to.contain('Remove Riverside Clinic from the network?');
    expect(asked).to.contain('access patients gave the hospital');
    expect(
      ds.calls.some((c) => c.method === 'removeHospital'),
      'Cancel removes nothing',
    ).to.equal(false);
    expect(el.shadowRoot!.querySelector('[part="hospitals"]')!.textContent).to.contain('Riverside Clinic');
    remove.click();
    const dialog = await shadowQuery<HTMLDialogElement>(el, 'dialog[part="confirm-dialog"][open]');
    await expect(el).to.be.accessible();
    expect(el.shadowRoot!.activeElement?.getAttribute('value'), 'the safe answer has the focus').to.equal(
      'cancel',
    );
    dialog.dispatchEvent(new Event('cancel', { cancelable: true })); // Escape
    await until(() => !dialog.open, 'Escape closes it');
    expect(
      ds.calls.some((c) => c.method === 'removeHospital'),
      'Escape removes nothing',
    ).to.equal(false);
    remove.click();
    await answer(el, true);
    await until(
      () => !el.shadowRoot!.querySelector('[part="hospitals"]')!.textContent!.includes('Riverside Clinic'),
      'removed',
    );
  });

  it('refuses a malformed address without a transaction, naming the field that is wrong', async () => {
    const ds = await FixtureDataSource.create({ bundle });
    const el = await admin(ds, 'network');
    await shadowQuery(el, '[part="hospitals"]');
    const alert = () => el.shadowRoot!.querySelector('[role="alert"]')!.textContent!;
    const submit = () =>
      el.shadowRoot!.querySelector<HTMLButtonElement>('form button[type="submit"]')!.click();
    fill(el, { name: 'X', address: '0x123', bridgeSigner: 'nope' });
    submit();
    await until(() => alert().includes('Address: enter the account’s address'), 'the address field named');
    const field = el.shadowRoot!.querySelector<HTMLInputElement>('[name="address"]')!;
    expect(field.getAttribute('aria-invalid')).to.equal('true');
    expect(el.shadowRoot!.activeElement).to.equal(field);
    fill(el, { address: FIXTURE_ACCOUNTS.visitor });
    submit();
    await until(
      () => alert().includes('Bridge signer address: enter the account’s address'),
      'the signer named',
    );
    expect(field.hasAttribute('aria-invalid'), 'the fixed field is no longer marked').to.equal(false);
    expect(ds.calls.some((c) => c.method === 'addHospital')).to.equal(false);
    await expect(el).to.be.accessible();
  });

  it("manages a hospital's doctors", async () => {
    const ds = await FixtureDataSource.create({ bundle });
    const el = await admin(ds, 'hospital', FIXTURE_ACCOUNTS.hospital);
    const doctors = await shadowQuery(el, '[part="doctors"]', 'doctors');
    // By name, with the address shortened beside it (whole on hover and copy).
    expect(doctors.textContent).to.contain('Dr. Demo');
    expect(
      doctors.querySelector(`[data-address="${FIXTURE_ACCOUNTS.doctor}"]`)?.getAttribute('title'),
    ).to.equal(FIXTURE_ACCOUNTS.doctor);
    await expect(el).to.be.accessible();
    const submit = () =>
      el.shadowRoot!.querySelector<HTMLButtonElement>('form button[type="submit"]')!.click();
    fill(el, { name: '', address: FIXTURE_ACCOUNTS.otherDoctor });
    submit();
    await until(
      () => el.shadowRoot!.querySelector('[role="alert"]')?.textContent?.includes('Enter a name') ?? false,
      'a name is required',
    );
    expect(ds.calls.some((c) => c.method === 'addDoctor')).to.equal(false);
    fill(el, { name: 'Dr. Ben Other', address: FIXTURE_ACCOUNTS.otherDoctor });
    submit();
    await until(
      () => el.shadowRoot!.querySelector('[part="doctors"]')!.textContent!.includes('Dr. Ben Other'),
      'doctor added with its name',
    );
    expect(ds.calls.find((c) => c.method === 'addDoctor')?.args[0]).to.include({
      name: 'Dr. Ben Other',
      address: FIXTURE_ACCOUNTS.otherDoctor,
    });
    el.shadowRoot!.querySelector<HTMLButtonElement>(
      `[part="doctors"] button[aria-label="Remove Dr. Ben Other"]`,
    )!.click();
    expect(await answer(el, true)).to.contain('Remove Dr. Ben Other from this hospital?');
    await until(
      () => !el.shadowRoot!.querySelector('[part="doctors"]')!.textContent!.includes('Dr. Ben Other'),
      'doctor removed',
    );
  });

  it('approves a pending registration and shows the empty state afterwards', async () => {
    const ds = await FixtureDataSource.create({ bundle });
    const el = await admin(ds, 'hospital', FIXTURE_ACCOUNTS.hospital);
    const approve = await shadowQuery<HTMLButtonElement>(
      el,
      '[part="registrations"] button.primary',
      'approve',
    );
    const changed = oneEvent(el, 'ehr-admin-change');
    approve.click();
    expect((await changed).detail.action).to.equal('approve-registration');
    await until(() => el.shadowRoot!.textContent!.includes('No pending registration requests'), 'empty');
    await expect(el).to.be.accessible();
  });

  it('shows a rejected wallet signature as a failure that says what to do', async () => {
    const ds = await FixtureDataSource.create({ bundle });
    // Injected fault: the person rejects the transaction in the wallet.
    ds.rejectRegistration = () =>
      Promise.reject(new DataSourceError('wallet-rejected', 'Rejected in the wallet.'));
    const el = await admin(ds, 'hospital', FIXTURE_ACCOUNTS.hospital);
    const reject = await shadowQuery<HTMLButtonElement>(
      el,
      '[part="registrations"] button:not(.primary)',
      'reject',
    );
    reject.click();
    await until(() => phase(el) === 'failed', 'failed');
    expect(el.shadowRoot!.querySelector('[part="tx-status"]')!.textContent).to.contain(
      'approve it to continue',
    );
  });

  it('lets a visitor ask a hospital to register them', async () => {
    const ds = await FixtureDataSource.create({ bundle });
    const el = await admin(ds, 'visitor');
    await until(
      () => el.shadowRoot!.querySelectorAll('select[name="hospital"] option').length > 1,
      'hospitals in the picker',
    );
    await expect(el).to.be.accessible();
    fill(el, { hospital: FIXTURE_ACCOUNTS.otherHospital, subject: '0x' + 'ab'.repeat(32) });
    const changed = oneEvent(el, 'ehr-admin-change');
    el.shadowRoot!.querySelector<HTMLButtonElement>('[part="register-form"] button[type="submit"]')!.click();
    expect((await changed).detail).to.include({
      action: 'request-registration',
      target: FIXTURE_ACCOUNTS.otherHospital,
    });
    expect((await ds.listRegistrations(FIXTURE_ACCOUNTS.otherHospital)).map((r) => r.subject)).to.include(
      '0x' + 'ab'.repeat(32),
    );
  });
});
