/**
 * The elements against the real stack: bridge over HTTP (via the test server's /bridge/ proxy),
 * anvil with the EhrRegistry, Kubo. Wallets are TestWallets signing with anvil's dev keys and
 * sending through anvil, as a browser wallet would.
 */
import { expect, fixture, html } from '@open-wc/testing';
import { setViewport } from '@web/test-runner-commands';
import { Wallet } from 'ethers';
import { TestWallet } from '../../src/testing/index.js';
import { HttpChainDataSource } from '../../src/data/http-chain-data-source.js';
import { shadowQuery, until } from '../helpers.js';
import {
  providerOn,
  providerStatus,
  signIn,
  signedIn as signedInOn,
  type StackSettings,
} from './stack-session.js';
import '../../src/index.js';
import { SCOPES, type ScopeCategory } from '@ehr-anchor/contracts';
import { SCOPE_CATEGORIES } from '../../src/data/data-source.js';
import type { EhrProvider } from '../../src/components/ehr-provider/ehr-provider.component.js';
import type { EhrViewer } from '../../src/components/ehr-viewer/ehr-viewer.component.js';
import type { ConsentManager } from '../../src/components/consent-manager/consent-manager.component.js';
import type { RecordUploader } from '../../src/components/record-uploader/record-uploader.component.js';
import type { EhrAdmin } from '../../src/components/ehr-admin/ehr-admin.component.js';

/** An account on screen (shown by name or shortened): the whole address is in data-address, any case. */
const account = (address: string) => `[data-address="${address}" i]`;

interface Stack extends StackSettings {
  freshDoctorKey: string;
  hospitalB: string;
  patientKey: string;
  doctorKey: string;
  doctorB: string;
  adminKey: string;
  family: string;
  hospitalKey: string;
}

let stack: Stack;
before(async () => {
  await setViewport({ width: 1400, height: 2400 });
  stack = (await (await fetch('/__stack.json')).json()) as Stack;
});

const status = providerStatus;
const signedIn = (key: string, inner: ReturnType<typeof html>) => signedInOn(stack, key, inner);

describe('elements against the real bridge, anvil and Kubo', () => {
  it('signs the patient in with Ethereum and shows a record verified against the root on chain', async () => {
    const el = await signedIn(stack.patientKey, html`<ehr-viewer></ehr-viewer>`);
    expect(status(el)).to.contain('Signed in as patient');
    const viewer = el.querySelector<EhrViewer>('ehr-viewer')!;
    await until(
      () => viewer.shadowRoot!.querySelector('[part="record"]'),
      'record rows from the bridge',
      60_000,
    );
    await until(
      () => viewer.shadowRoot!.querySelector('[part="badge"][data-state="verified"]'),
      'a verified badge',
      60_000,
    );
    viewer.shadowRoot!.querySelector<HTMLButtonElement>('[part="record"]')!.click();
    await until(
      () =>
        viewer.shadowRoot!.querySelector('[part="detail"] [part="badge"]')?.getAttribute('data-state') ===
        'verified',
      'verified detail',
      60_000,
    );
    viewer.shadowRoot!.querySelector<HTMLButtonElement>('#tab-proof')!.click();
    await until(() => viewer.shadowRoot!.textContent!.includes('Anchored by'), 'anchor read from chain');
    await expect(el).to.be.accessible();
  });

  it('works standalone from its attributes and says to sign in when the bridge wants a session', async () => {
    const el = await fixture<EhrViewer>(
      html`<ehr-viewer bridge-url=${stack.bridgeUrl} rpc-url=${stack.rpcUrl} chain-id=${stack.chainId} contract-address=${stack.contractAddress} patient-id=${stack.subject}></ehr-viewer>`,
    );
    await until(
      () => el.shadowRoot!.querySelector('[role="alert"]')?.textContent?.includes('You are not signed in'),
      'unauthorized explained',
      60_000,
    );
    await expect(el).to.be.accessible();
  });

  it('with an explicit patient-id, shows the record once the patient signs in through <ehr-provider> (the bridge refused it before)', async () => {
    const el = await providerOn(
      stack,
      stack.patientKey,
      html`<ehr-viewer patient-id=${stack.subject}></ehr-viewer>`,
    );
    const viewer = el.querySelector<EhrViewer>('ehr-viewer')!;
    await until(
      () =>
        viewer.shadowRoot!.querySelector('[role="alert"]')?.textContent?.includes('You are not signed in'),
      'the anonymous read refused (401)',
      60_000,
    );
    await signIn(el);
    expect(status(el)).to.contain('Signed in as patient');
    await until(
      () => viewer.shadowRoot!.querySelector('[part="record"]'),
      'record rows read again after sign-in',
      60_000,
    );
    await until(
      () => viewer.shadowRoot!.querySelector('[part="badge"][data-state="verified"]'),
      'a verified badge',
      60_000,
    );
    expect(viewer.shadowRoot!.textContent).not.to.contain('You are not signed in');
  });

  it('lets a granted doctor find the patient and open a verified record', async () => {
    const el = await signedIn(stack.doctorKey, html`<ehr-viewer></ehr-viewer>`);
    expect(status(el)).to.contain('Signed in as doctor');
    const viewer = el.querySelector<EhrViewer>('ehr-viewer')!;
    const name = await shadowQuery<HTMLInputElement>(
      viewer,
      '[part="search"] input[name="text"]',
      'search form',
    );
    name.value = stack.family;
    viewer.shadowRoot!.querySelector<HTMLButtonElement>('[part="search"] button[type="submit"]')!.click();
    const match = await shadowQuery<HTMLButtonElement>(viewer, '.matches button', 'a match', 60_000);
    expect(match.textContent).to.contain(stack.family);
    match.click();
    await until(
      () => viewer.shadowRoot!.querySelector('[part="header"] h2')?.textContent?.includes(stack.family),
      'patient header',
      60_000,
    );
    await until(
      () => viewer.shadowRoot!.querySelector('[part="badge"][data-state="verified"]'),
      'a verified badge',
      60_000,
    );
    await expect(el).to.be.accessible();
  });

  it('grants and revokes consent through the wallet, confirmed on chain', async () => {
    const el = await signedIn(stack.patientKey, html`<consent-manager></consent-manager>`);
    const cm = el.querySelector<ConsentManager>('consent-manager')!;
    await shadowQuery(cm, '[part="grant-form"]');
    await until(() => !cm.shadowRoot!.textContent!.includes('Loading grants'), 'grants loaded', 60_000);
    cm.shadowRoot!.querySelector<HTMLInputElement>('input[name="grantee"]')!.value = stack.doctorB;
    cm.shadowRoot!.querySelector<HTMLSelectElement>('select[name="kind"]')!.value = 'doctor';
    cm.shadowRoot!.querySelector<HTMLInputElement>('input[name="scope"][value="documents"]')!.checked = true;
    cm.shadowRoot!.querySelector<HTMLButtonElement>('[part="grant-form"] button[type="submit"]')!.click();
    await until(
      () => cm.shadowRoot!.querySelector<HTMLElement>('[part="tx-status"]')?.dataset.phase === 'confirmed',
      'grant confirmed',
      60_000,
    );
    await until(
      () => cm.shadowRoot!.querySelector(`[part="grants"] ${account(stack.doctorB)}`),
      'grant listed from chain',
      60_000,
    );
    const row = [...cm.shadowRoot!.querySelectorAll('[part="grants"] tbody tr')].find((r) =>
      r.querySelector(account(stack.doctorB)),
    )!;
    // Exactly what was granted, from chain state.
    expect(row.querySelector('td.scope')!.textContent).to.equal('Documents');
    expect(row.getAttribute('data-scope-bits')).to.equal(String(SCOPES.documents));
    row.querySelector<HTMLButtonElement>('button')!.click();
    const dialog = await shadowQuery<HTMLDialogElement>(
      cm,
      'dialog[part="revoke-dialog"][open]',
      'confirmation',
    );
    dialog.querySelector<HTMLButtonElement>('button[value="revoke"]')!.click();
    await until(
      () => cm.shadowRoot!.querySelector<HTMLElement>('[part="tx-status"]')?.textContent?.includes('Revoke'),
      'revoke started',
      60_000,
    );
    await until(
      () => cm.shadowRoot!.querySelector<HTMLElement>('[part="tx-status"]')?.dataset.phase === 'confirmed',
      'revoke confirmed',
      60_000,
    );
    await until(
      () => !cm.shadowRoot!.querySelector(`[part="grants"] ${account(stack.doctorB)}`),
      'grant gone',
      60_000,
    );
  });

  it('a grant to a hospital that was removed and added again is not in force: the bridge refuses, the consent screen says it ended', async () => {
    const source = (key: string) =>
      new HttpChainDataSource({
        bridgeUrl: stack.bridgeUrl,
        rpcUrl: stack.rpcUrl,
        chainId: stack.chainId,
        contractAddress: stack.contractAddress,
        ethereum: new TestWallet(new Wallet(key), stack.chainId, { rpcUrl: stack.rpcUrl }),
      });
    const admin = source(stack.adminKey);
    const patient = source(stack.patientKey);
    // A hospital of its own (nobody else's grants are touched), and its bridge's account, which reads
    // through the hospital's grants.
    const clinic = {
      address: Wallet.createRandom().address,
      name: 'Riverside Clinic',
      bridgeSigner: Wallet.createRandom(),
      keyWrappingKey: `0x${'42'.repeat(32)}`,
    };
    const add = async () =>
      (await admin.addHospital({ ...clinic, bridgeSigner: clinic.bridgeSigner.address })).wait();
    /** The clinic's bridge account reading the patient's record list at the real bridge (a fresh session). */
    const readAsClinic = async () => {
      const ds = new HttpChainDataSource({
        bridgeUrl: stack.bridgeUrl,
        rpcUrl: stack.rpcUrl,
        chainId: stack.chainId,
        contractAddress: stack.contractAddress,
      });
      await ds.signIn(clinic.bridgeSigner.address, (m) => clinic.bridgeSigner.signMessage(m));
      const res = await fetch(`${stack.bridgeUrl}/patients/${stack.subject}/records?category=observations`, {
        headers: { authorization: `Bearer ${ds.sessionToken}` },
      });
      return res.status;
    };
    const clinicGrant = async () =>
      (await patient.listGrants(stack.subject)).find((g) => g.grantee === clinic.address);
    await add();
    const grant = () =>
      patient.grant(stack.subject, {
        grantee: clinic.address,
        granteeKind: 'hospital',
        scope: ['observations'],
        expiresAt: 0,
      });
    await (await grant()).wait();
    expect(await readAsClinic(), 'granted: the clinic reads').to.equal(200);
    expect(await clinicGrant()).to.include({ active: true, granteeName: 'Riverside Clinic' });

    await (await admin.removeHospital(clinic.address)).wait();
    await add();
    expect(await readAsClinic(), 'removed and re-added: refused').to.equal(403);
    const ended = (await clinicGrant())!;
    expect(ended).to.include({ active: false, inactiveReason: 'ended', granteeKind: 'hospital' });
    expect(ended.scope).to.deep.equal(['observations']);

    const el = await signedIn(stack.patientKey, html`<consent-manager></consent-manager>`);
    const cm = el.querySelector<ConsentManager>('consent-manager')!;
    const rowOf = () => cm.shadowRoot!.querySelector(`[part="grants"] tr[data-grantee="${clinic.address}"]`);
    await until(rowOf, 'the clinic’s grant listed from chain', 60_000);
    const row = rowOf()!;
    const status = row.querySelector('td.status')!;
    expect(status.getAttribute('data-status')).to.equal('ended');
    expect(status.textContent).to.contain(
      'Riverside Clinic was removed from the network after you gave this grant, so it is no longer in force.',
    );
    expect(row.textContent).to.contain('Riverside Clinic');
    await expect(el).to.be.accessible();

    // Granting again is a new grant, in force for the hospital as it is now.
    await (await grant()).wait();
    expect(await readAsClinic(), 'granted again: the clinic reads').to.equal(200);
    expect(await clinicGrant()).to.include({ active: true });
    await (await patient.revoke(stack.subject, clinic.address)).wait();
  });

  it('uploads a document as a granted doctor and follows it to anchored', async () => {
    const el = await signedIn(
      stack.doctorKey,
      html`<record-uploader patient-id=${stack.subject} poll-interval="300"></record-uploader>`,
    );
    const up = el.querySelector<RecordUploader>('record-uploader')!;
    const input = await shadowQuery<HTMLInputElement>(up, 'input[type="file"]');
    const dt = new DataTransfer();
    dt.items.add(new File(['Discharge summary: synthetic test note.'], 'note.txt', { type: 'text/plain' }));
    input.files = dt.files;
    input.dispatchEvent(new Event('change'));
    up.shadowRoot!.querySelector<HTMLInputElement>('input[name="title"]')!.value = 'Discharge summary';
    up.shadowRoot!.querySelector<HTMLButtonElement>('button[type="submit"]')!.click();
    await until(() => up.shadowRoot!.querySelector('[part="result"]'), 'receipt', 60_000);
    await until(
      () => up.shadowRoot!.querySelector('[part="result"][data-state="anchored"]'),
      'anchored',
      120_000,
    );
    expect(up.shadowRoot!.querySelector('[part="result"]')!.textContent).to.match(/0x[0-9a-f]{64}/);
  });

  it('signs in with the page host as SIWE domain and no expiration time, and filters records by clinical date', async () => {
    const ds = new HttpChainDataSource({
      bridgeUrl: stack.bridgeUrl,
      rpcUrl: stack.rpcUrl,
      chainId: stack.chainId,
      contractAddress: stack.contractAddress,
    });
    const wallet = new Wallet(stack.patientKey);
    let signed = '';
    await ds.signIn(wallet.address, async (message) => ((signed = message), wallet.signMessage(message)));
    expect(ds.sessionToken).to.be.a('string');
    // The bridge accepted a message for this page's host (loopback) rather than its own.
    expect(signed.split('\n')[0]).to.equal(
      `${location.host} wants you to sign in with your Ethereum account:`,
    );
    // The nonce's 5-minute expiry is not the session's: the message sets none.
    expect(signed).not.to.contain('Expiration Time');

    // A wide clinical-date range makes the bridge read every record's date; rows carry it.
    const all = await ds.listRecords(stack.subject, { from: '1900-01-01', to: '2100-12-31' });
    const dated = all.filter((r) => r.date).sort((a, b) => Date.parse(a.date!) - Date.parse(b.date!));
    expect(dated.length).to.be.greaterThan(1);
    const day = new Date(Date.parse(dated[Math.floor(dated.length / 2)]!.date!)).toISOString().slice(0, 10);
    const start = Date.parse(day);
    const onDay = await ds.listRecords(stack.subject, { from: day, to: day });
    expect(onDay.length).to.be.greaterThan(0);
    // Filtered by the clinical date (inclusive `to`), not by when the bridge received them.
    for (const r of onDay) expect(Date.parse(r.date!)).to.be.within(start, start + 86_400_000 - 1);
    expect(onDay.length).to.equal(
      all.filter((r) => r.date && Date.parse(r.date) >= start && Date.parse(r.date) < start + 86_400_000)
        .length,
    );
  });

  it('shows the network admin the hospitals registered on chain', async () => {
    const el = await signedIn(stack.adminKey, html`<ehr-admin></ehr-admin>`);
    expect(status(el)).to.contain('network admin');
    const admin = el.querySelector<EhrAdmin>('ehr-admin')!;
    const table = await shadowQuery(admin, '[part="hospitals"]', 'hospitals from chain events', 60_000);
    expect(table.querySelector(account(new Wallet(stack.hospitalKey).address))).to.not.equal(null);
    await expect(el).to.be.accessible();
  });

  it('lets a visitor ask a hospital to register them and the hospital approve it', async () => {
    const visitor = Wallet.createRandom();
    const subject =
      '0x' +
      [...crypto.getRandomValues(new Uint8Array(32))].map((b) => b.toString(16).padStart(2, '0')).join('');
    const hospital = new Wallet(stack.hospitalKey).address;
    const v = await fixture<EhrProvider>(
      html`<ehr-provider bridge-url=${stack.bridgeUrl} rpc-url=${stack.rpcUrl} chain-id=${stack.chainId} contract-address=${stack.contractAddress}
        .ethereum=${new TestWallet(new Wallet(visitor.privateKey), stack.chainId, { rpcUrl: stack.rpcUrl })}
        ><ehr-admin view="visitor"></ehr-admin
      ></ehr-provider>`,
    );
    const form = v.querySelector<EhrAdmin>('ehr-admin')!;
    await until(
      () => form.shadowRoot!.querySelectorAll('select[name="hospital"] option').length > 1,
      'hospitals in the picker',
      60_000,
    );
    form.shadowRoot!.querySelector<HTMLSelectElement>('select[name="hospital"]')!.value = hospital;
    form.shadowRoot!.querySelector<HTMLInputElement>('input[name="subject"]')!.value = subject;
    form
      .shadowRoot!.querySelector<HTMLButtonElement>('[part="register-form"] button[type="submit"]')!
      .click();
    await until(
      () => form.shadowRoot!.querySelector<HTMLElement>('[part="tx-status"]')?.dataset.phase === 'confirmed',
      'request confirmed',
      60_000,
    );
    v.remove();

    const el = await signedIn(stack.hospitalKey, html`<ehr-admin></ehr-admin>`);
    const admin = el.querySelector<EhrAdmin>('ehr-admin')!;
    await shadowQuery(admin, '[part="doctors"]', "the hospital's doctors", 60_000);
    const row = await until(
      () =>
        [...(admin.shadowRoot!.querySelectorAll('[part="registrations"] tbody tr') ?? [])].some((r) =>
          r.querySelector(account(visitor.address)),
        ),
      'the pending request',
      60_000,
    ).then(() =>
      [...admin.shadowRoot!.querySelectorAll('[part="registrations"] tbody tr')].find((r) =>
        r.querySelector(account(visitor.address)),
      )!,
    );
    expect(row.textContent).to.contain(subject);
    row.querySelector<HTMLButtonElement>('button.primary')!.click();
    await until(
      () => admin.shadowRoot!.querySelector<HTMLElement>('[part="tx-status"]')?.dataset.phase === 'confirmed',
      'approval confirmed',
      60_000,
    );
    await until(
      () => !admin.shadowRoot!.querySelector(account(visitor.address)),
      'request no longer pending',
      60_000,
    );
  });

  it('shows records as tampered when the chain says another hospital anchored them than the one whose bridge this is', async () => {
    // The portal is configured for hospital B, but hospital A's bridge answers (misrouted or hijacked).
    const wallet = new TestWallet(new Wallet(stack.patientKey), stack.chainId, { rpcUrl: stack.rpcUrl });
    const el = await fixture<EhrProvider>(
      html`<ehr-provider bridge-url=${stack.bridgeUrl} rpc-url=${stack.rpcUrl} chain-id=${stack.chainId} contract-address=${stack.contractAddress} bridge-hospital=${stack.hospitalB} .ethereum=${wallet}
        ><ehr-viewer></ehr-viewer></ehr-provider
      >`,
    );
    await signIn(el);
    const viewer = el.querySelector<EhrViewer>('ehr-viewer')!;
    await until(
      () => viewer.shadowRoot!.querySelector('[part="header"] [part="badge"][data-state="tampered"]'),
      'the header tampered',
      60_000,
    );
    expect(viewer.shadowRoot!.querySelector('[part="header"] [part="badge"]')!.textContent).to.contain(
      'anchored by another hospital',
    );
    await until(() => viewer.shadowRoot!.querySelector('[part="record"]'), 'rows', 60_000);
    await until(
      () => viewer.shadowRoot!.querySelector('[part="record"] [part="badge"][data-state="tampered"]'),
      'a row tampered',
      60_000,
    );
    expect(
      viewer.shadowRoot!.querySelector('[part="record"] [part="badge"][data-state="verified"]'),
    ).to.equal(null);
  });

  it('shows another patient’s genuine record, served by a dishonest bridge, as tampered: belongs to another patient', async () => {
    const { swappedKey } = (await (await fetch('/__dishonest.json')).json()) as { swappedKey: string };
    const wallet = new TestWallet(new Wallet(stack.doctorKey), stack.chainId, { rpcUrl: stack.rpcUrl });
    const el = await fixture<EhrProvider>(
      html`<ehr-provider bridge-url="/dishonest-bridge" rpc-url=${stack.rpcUrl} chain-id=${stack.chainId} contract-address=${stack.contractAddress} .ethereum=${wallet}
        ><ehr-viewer patient-id=${stack.subject} mode="doctor"></ehr-viewer></ehr-provider
      >`,
    );
    await signIn(el);
    const viewer = el.querySelector<EhrViewer>('ehr-viewer')!;
    await until(() => viewer.shadowRoot!.querySelector('[part="record"]'), 'rows', 60_000);
    viewer.openRecord(swappedKey);
    const detailBadge = () => viewer.shadowRoot!.querySelector<HTMLElement>('[part="detail"] [part="badge"]');
    await until(() => detailBadge()?.dataset.state === 'tampered', 'the swapped record tampered', 60_000);
    expect(detailBadge()!.textContent).to.contain('belongs to another patient');
    // The same bridge's honest answers still verify.
    await until(
      () => viewer.shadowRoot!.querySelector('[part="header"] [part="badge"][data-state="verified"]'),
      'the header verified',
      60_000,
    );
    await expect(el).to.be.accessible();
  });

  it('grants exactly the categories of each scope bit: over HTTP from the real bridge and in the viewer, nothing else', async () => {
    const patient = new HttpChainDataSource({
      bridgeUrl: stack.bridgeUrl,
      rpcUrl: stack.rpcUrl,
      chainId: stack.chainId,
      contractAddress: stack.contractAddress,
      ethereum: new TestWallet(new Wallet(stack.patientKey), stack.chainId, { rpcUrl: stack.rpcUrl }),
    });
    const doctorWallet = new Wallet(stack.freshDoctorKey);
    // A doctor of hospital A with no grant yet (hospital A holds none either).
    const hospital = new HttpChainDataSource({
      bridgeUrl: stack.bridgeUrl,
      rpcUrl: stack.rpcUrl,
      chainId: stack.chainId,
      contractAddress: stack.contractAddress,
      ethereum: new TestWallet(new Wallet(stack.hospitalKey), stack.chainId, { rpcUrl: stack.rpcUrl }),
    });
    await (
      await hospital.addDoctor({ address: doctorWallet.address, name: 'Dr. Scope Tester', hospital: '' })
    ).wait();
    const raw = async (token: string) => {
      const items: { seq: number; category: ScopeCategory }[] = [];
      let cursor: string | undefined;
      do {
        const res = await fetch(
          `${stack.bridgeUrl}/patients/${stack.subject}/records?limit=500${cursor ? `&cursor=${cursor}` : ''}`,
          { headers: { authorization: `Bearer ${token}` } },
        );
        if (res.status !== 200) return { status: res.status, items };
        const page = (await res.json()) as { items: typeof items; next?: string };
        items.push(...page.items);
        cursor = page.next;
      } while (cursor);
      return { status: 200, items };
    };
    const session = async (key: string, ds?: HttpChainDataSource) => {
      const w = new Wallet(key);
      const source =
        ds ??
        new HttpChainDataSource({
          bridgeUrl: stack.bridgeUrl,
          rpcUrl: stack.rpcUrl,
          chainId: stack.chainId,
          contractAddress: stack.contractAddress,
        });
      await source.signIn(w.address, (m) => w.signMessage(m));
      return source;
    };
    const all = (await raw((await session(stack.patientKey, patient)).sessionToken!)).items;
    const doctor = await session(stack.freshDoctorKey);
    const table: string[] = [];
    for (const category of SCOPE_CATEGORIES) {
      await (
        await patient.grant(stack.subject, {
          grantee: doctorWallet.address,
          granteeKind: 'doctor',
          scope: [category],
          expiresAt: 0,
        })
      ).wait();
      const expected = all.filter((i) => i.category === category);
      const got = await raw(doctor.sessionToken!);
      const seqs = (xs: { seq: number }[]) => xs.map((i) => i.seq).sort((a, b) => a - b);
      if (expected.length === 0) {
        expect([403, 200], `${category}: nothing to read`).to.include(got.status);
        expect(got.items, category).to.deep.equal([]);
      } else {
        expect(got.status, category).to.equal(200);
        expect(seqs(got.items), `${category}: exactly its records`).to.deep.equal(seqs(expected));
      }
      // A record of another category is refused.
      const outside = all.find((i) => i.category !== category);
      if (outside) {
        const res = await fetch(`${stack.bridgeUrl}/records/${outside.seq}`, {
          headers: { authorization: `Bearer ${doctor.sessionToken!}` },
        });
        expect(res.status, `${category}: ${outside.category} refused`).to.equal(403);
      }
      // In the viewer: the same records listed (the Patient record as the header, only with demographics).
      const viewer = await fixture<EhrViewer>(
        html`<ehr-viewer .dataSource=${doctor} patient-id=${stack.subject} mode="doctor"></ehr-viewer>`,
      );
      const listed = expected.filter((i) => i.category !== 'demographics').length;
      if (listed > 0) {
        await until(
          () =>
            viewer.shadowRoot!.querySelector('.count')?.textContent?.trim() ===
            `${listed} record${listed === 1 ? '' : 's'}`,
          `${category}: ${listed} rows`,
          60_000,
        );
        await until(
          () => viewer.shadowRoot!.querySelector('[part="record"] [part="badge"][data-state="verified"]'),
          `${category}: a verified row`,
          60_000,
        );
      } else {
        await until(
          () => viewer.shadowRoot!.querySelector('[part="record"], [role="alert"], [role="status"]'),
          `${category}: no rows`,
          60_000,
        );
        expect(viewer.shadowRoot!.querySelectorAll('[part="record"]').length, category).to.equal(0);
      }
      await until(
        () =>
          category === 'demographics'
            ? viewer.shadowRoot!.querySelector('[part="header"] [part="badge"][data-state="verified"]')
            : viewer.shadowRoot!.querySelector('[part="header"] [role="alert"]'),
        `${category}: header ${category === 'demographics' ? 'verified' : 'refused'}`,
        60_000,
      );
      viewer.remove();
      table.push(
        `${category.padEnd(14)} bit ${String(SCOPES[category]).padStart(5)}: ${expected.length} records`,
      );
    }
    console.log(`scope bits end to end:\n${table.join('\n')}`);
  });
});
