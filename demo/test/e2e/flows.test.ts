/**
 * End-to-end: every seed flow of the original system, walked through the demo portal in Chromium
 * against the real local stack (anvil, Kubo, the deployed contracts, the bridge with its outbox),
 * as the people in each role would. Each step asserts what the person sees and leaves a
 * screenshot under demo/test-results/<flow>/.
 *
 * The flows share one stack and run in order, like a day at the hospital: later flows build on the
 * grants and registrations of earlier ones.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { DEV_KEYS } from '@ehr-anchor/testkit';
import { leafHash, type Hex } from '@ehr-anchor/core';
import { Wallet, hexlify, randomBytes } from 'ethers';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { launchBrowser, shot, shotOf, startStack, type E2eStack } from './harness.js';

const address = (role: keyof typeof DEV_KEYS) => new Wallet(DEV_KEYS[role]).address;
const STEP = { timeout: 180_000 };
const SEE = { timeout: 60_000 };

let stack: E2eStack;
let browser: Browser;
let context: BrowserContext;
const pages = new Map<string, Page>();

before(async () => {
  stack = await startStack();
  browser = await launchBrowser();
  context = await browser.newContext({ viewport: { width: 1400, height: 1600 } });
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

/** The portal signed in as `role` (one tab per role, kept open like a person's browser). */
async function portal(role: string, page = 'react.html'): Promise<Page> {
  const key = `${role}:${page}`;
  let p = pages.get(key);
  if (!p) {
    p = await context.newPage();
    pages.set(key, p);
    await p.goto(`${stack.demoUrl}/${page}?role=${role}`);
  }
  await signedIn(p);
  return p;
}

async function signedIn(p: Page): Promise<void> {
  await p.locator('ehr-provider [part="status"]').filter({ hasText: 'Signed in as' }).waitFor(SEE);
}

async function reload(p: Page): Promise<void> {
  await p.reload();
  await signedIn(p);
}

const patientViewer = (p: Page) => p.locator('section:has(#patient-h) ehr-viewer');
const doctorViewer = (p: Page) => p.locator('section:has(#doctor-h) ehr-viewer');
const consents = (p: Page) => p.locator('consent-manager');
const txStatus = (scope: Locator) => scope.locator('[part="tx-status"]');

/** Waits for the element's transaction status line to say confirmed (fails fast on failed). */
async function confirmed(scope: Locator): Promise<void> {
  const status = txStatus(scope);
  await status.and(scope.page().locator('[data-phase="confirmed"], [data-phase="failed"]')).waitFor(SEE);
  assert.equal(await status.getAttribute('data-phase'), 'confirmed', await status.textContent() ?? '');
}

/** The doctor searches the patient by family name. */
async function search(p: Page, name: string): Promise<void> {
  const viewer = doctorViewer(p);
  await viewer.locator('[part="search"] input[name="text"]').fill(name);
  await viewer.locator('[part="search"] button[type="submit"]').click();
}

async function grant(p: Page, grantee: string, kind: 'doctor' | 'hospital'): Promise<void> {
  const cm = consents(p);
  await cm.locator('[part="grant-form"] input[name="grantee"]').fill(grantee);
  await cm.locator('[part="grant-form"] select[name="kind"]').selectOption(kind);
  await cm.locator('[part="grant-form"] button[type="submit"]').click();
  await confirmed(cm);
}

const rows = (viewer: Locator) => viewer.locator('[part="record"]');

/** On a failed step, a screenshot of every open tab (demo/test-results/failed/<tab>.png) shows what the person saw. */
async function screenshotsOnFailure<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    for (const [key, page] of pages) await shot(page, 'failed', key.replace(/[^a-z0-9]+/gi, '-'), false).catch(() => undefined);
    throw error;
  }
}

/**
 * The patient's access log (in <consent-manager>) shows reads by `reader`. Checked right after the
 * reads: the bridge answers the newest 200 entries, and the patient's own page loads add many.
 */
async function accessLogShows(reader: keyof typeof DEV_KEYS, flow: string): Promise<void> {
  const p = await portal('patient');
  await reload(p);
  const mine = consents(p).locator('[part="access-log"] tbody tr').filter({ hasText: new RegExp(address(reader), 'i') });
  await mine.first().waitFor(SEE);
  await shot(p, flow, `access-log-shows-${reader}`);
}

/** Today as the date inputs want it (the browser's local date). */
const today = (p: Page) => p.evaluate('new Date().toLocaleDateString("sv")') as Promise<string>;

describe('the seed flows, end to end in the demo portal', () => {
  it('3. a FHIR server pushes a new result: it appears in the patient\'s viewer and verifies', STEP, () => screenshotsOnFailure(async () => {
    const p = await portal('patient');
    const viewer = patientViewer(p);
    await viewer.locator('[part="record"] [part="badge"][data-state="verified"]').first().waitFor(SEE);
    await shot(p, '03-fhir-push', '1-patient-record-verified');
    await p.getByRole('button', { name: 'Push a new lab result' }).click();
    await p.locator('#push-status').filter({ hasText: 'Pushed 1 resource' }).waitFor(SEE);
    // Today's observations, as the patient would filter for the new result; the page is reloaded
    // until the bridge lists it (a person comes back to the page).
    const glucose = rows(viewer).filter({ hasText: 'Glucose' });
    const verified = glucose.locator('[part="badge"][data-state="verified"]');
    for (let i = 0; i < 30 && !(await verified.count()); i++) {
      if (i > 0) await reload(p);
      await viewer.locator('[part="filters"]').waitFor(SEE);
      await viewer.locator('[part="filters"] label').filter({ hasText: 'Observations' }).locator('input').check();
      await viewer.locator('[part="filters"] input[type="date"]').first().fill(await today(p));
      await viewer.locator('[part="record"] [part="badge"]:not([data-state="checking"]), [role="status"]:has-text("No records")').first().waitFor(SEE);
    }
    await verified.first().waitFor(SEE);
    await shot(p, '03-fhir-push', '2-new-result-verified');
  }));

  it('4. the doctor searches the patient and sees nothing before consent', STEP, () => screenshotsOnFailure(async () => {
    const p = await portal('doctorA');
    await search(p, 'Kreiger');
    await doctorViewer(p).getByText('No patient you have access to matches').waitFor(SEE);
    await shot(p, '04-no-consent', '1-doctor-finds-nothing');
  }));

  it('5. the patient grants the doctor → the doctor reads the record; the patient revokes → refused', STEP, () => screenshotsOnFailure(async () => {
    const patient = await portal('patient');
    await consents(patient).locator('[part="grant-form"]').waitFor(SEE);
    await grant(patient, address('doctorA'), 'doctor');
    await consents(patient).locator('[part="grants"]').getByText(address('doctorA')).waitFor(SEE);
    await shot(patient, '05-consent', '1-patient-granted-doctor');
    await shotOf(consents(patient).locator('[part="base"]'), '05-consent', 'consent-manager');

    const doctor = await portal('doctorA');
    await search(doctor, 'Kreiger');
    await doctorViewer(doctor).locator('[part="search"] .matches button').first().click();
    await doctorViewer(doctor).locator('[part="header"] h2').filter({ hasText: 'Kreiger' }).waitFor(SEE);
    const badge = doctorViewer(doctor).locator('[part="record"] [part="badge"][data-state="verified"]').first();
    await badge.waitFor(SEE);
    await shot(doctor, '05-consent', '2-doctor-reads-verified');
    await shotOf(doctorViewer(doctor), '05-consent', 'ehr-viewer');
    await accessLogShows('doctorA', '05-consent');

    await consents(patient).getByRole('button', { name: /Revoke access of/ }).first().click();
    await confirmed(consents(patient));
    await consents(patient).getByText('You have not granted anyone access').waitFor(SEE);
    await shot(patient, '05-consent', '3-patient-revoked');

    // The doctor's next read is refused by the bridge (consent is read from the chain on every request).
    await rows(doctorViewer(doctor)).nth(1).click();
    await doctorViewer(doctor).locator('[part="detail"] [role="alert"]').filter({ hasText: 'do not have access' }).waitFor(SEE);
    await search(doctor, 'Kreiger');
    await doctorViewer(doctor).getByText('No patient you have access to matches').waitFor(SEE);
    await shot(doctor, '05-consent', '4-doctor-refused');
  }));

  it("6. the patient grants hospital B → hospital B's doctor reads the record", STEP, () => screenshotsOnFailure(async () => {
    const patient = await portal('patient');
    await grant(patient, address('hospitalB'), 'hospital');
    await consents(patient).locator('[part="grants"]').getByText(address('hospitalB')).waitFor(SEE);
    const doctor = await portal('doctorB');
    await search(doctor, 'Kreiger');
    await doctorViewer(doctor).locator('[part="search"] .matches button').first().click();
    await doctorViewer(doctor).locator('[part="record"] [part="badge"][data-state="verified"]').first().waitFor(SEE);
    await shot(doctor, '06-hospital-grant', '1-hospital-b-doctor-reads');
    await accessLogShows('doctorB', '06-hospital-grant');
  }));

  it('7. the patient edits contact info → a new anchored Patient version', STEP, () => screenshotsOnFailure(async () => {
    const p = await portal('patient');
    const viewer = patientViewer(p);
    await viewer.getByRole('button', { name: 'Edit contact' }).click();
    await viewer.locator('form.contact-form input[name="phone"]').fill('555-0100');
    await viewer.getByRole('button', { name: 'Save contact' }).click();
    await viewer.getByText('Contact details saved.').waitFor(SEE);
    await shot(p, '07-contact', '1-saved');
    // The new version is served once the bridge has it; its header shows the new number.
    for (let i = 0; i < 60 && !(await viewer.locator('[part="header"]').getByText('555-0100').count()); i++) {
      await reload(p);
      await viewer.locator('[part="header"] h2').waitFor(SEE);
    }
    await viewer.locator('[part="header"]').getByText('555-0100').waitFor(SEE);
    await shot(p, '07-contact', '2-new-version-shown');
  }));

  it('2. a visitor sends a registration request; the hospital approves it', STEP, () => screenshotsOnFailure(async () => {
    const desk = JSON.parse(await (await fetch(`${stack.demoUrl}/api/desk`)).text()) as Array<{ sample: string; subject: string }>;
    const subject = desk.find((d) => d.sample.startsWith('small'))!.subject;
    const visitor = await portal('visitor');
    const form = visitor.locator('ehr-admin [part="register-form"]');
    await form.locator('select[name="hospital"]').selectOption(address('hospitalA'));
    await form.locator('input[name="subject"]').fill(subject);
    await form.locator('button[type="submit"]').click();
    await confirmed(visitor.locator('ehr-admin'));
    await shot(visitor, '02-registration', '1-visitor-request-sent');

    const hospital = await portal('hospitalA');
    const admin = hospital.locator('ehr-admin');
    await reload(hospital);
    await admin.locator('[part="registrations"]').getByText(address('visitor')).waitFor(SEE);
    await shot(hospital, '02-registration', '2-hospital-sees-request');
    await admin.getByRole('button', { name: new RegExp(`Approve.*${address('visitor')}`, 'i') }).click();
    await confirmed(admin);
    await admin.getByText('No pending registration requests').waitFor(SEE);
    await shot(hospital, '02-registration', '3-approved');

    await reload(visitor);
    await visitor.locator('ehr-provider [part="status"]').filter({ hasText: 'Signed in as patient' }).waitFor(SEE);
    await shot(visitor, '02-registration', '4-visitor-is-a-patient');
  }));

  it('1. the admin adds a hospital; a hospital adds a doctor', STEP, () => screenshotsOnFailure(async () => {
    const admin = await portal('admin');
    const el = admin.locator('ehr-admin');
    await el.locator('[part="hospitals"] tbody tr').nth(1).waitFor(SEE);
    const newHospital = Wallet.createRandom();
    const form = el.locator('form[aria-label="Add hospital"]');
    await form.locator('input[name="name"]').fill('Hillside Hospital');
    await form.locator('input[name="address"]').fill(newHospital.address);
    await form.locator('input[name="bridgeSigner"]').fill(Wallet.createRandom().address);
    // The hospital's X25519 key-wrapping public key (32 bytes); the bridge wraps data keys to it.
    await form.locator('input[name="keyWrappingKey"]').fill(hexlify(randomBytes(32)));
    await form.locator('button[type="submit"]').click();
    await confirmed(el);
    await el.locator('[part="hospitals"]').getByText('Hillside Hospital').waitFor(SEE);
    await shot(admin, '01-roles', '1-admin-added-hospital');

    const hospital = await portal('hospitalA');
    const hel = hospital.locator('ehr-admin');
    await hel.locator('form[aria-label="Add doctor"] input[name="address"]').fill(address('healthWorker'));
    await hel.locator('form[aria-label="Add doctor"] button[type="submit"]').click();
    await confirmed(hel);
    await hel.locator('[part="doctors"]').getByText(address('healthWorker')).waitFor(SEE);
    await shot(hospital, '01-roles', '2-hospital-added-staff');
  }));

  it('8. a health worker uploads a PDF with visible progress → the doctor opens it, verified', STEP, () => screenshotsOnFailure(async () => {
    const desk = JSON.parse(await (await fetch(`${stack.demoUrl}/api/desk`)).text()) as Array<{ sample: string; subject: string }>;
    const subject = desk.find((d) => d.sample.startsWith('tiny'))!.subject;
    const patient = await portal('patient');
    await grant(patient, address('hospitalA'), 'hospital');

    const worker = await portal('healthWorker');
    const up = worker.locator('record-uploader');
    await up.locator('input[name="title"]').fill('Referral letter');
    await up.locator('input[name="patient"]').fill(subject);
    const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n% synthetic referral letter (no patient data)\n'), Buffer.alloc(6 * 1024 * 1024, 0x20), Buffer.from('\n%%EOF\n')]);
    await up.locator('input[type="file"]').setInputFiles({ name: 'referral-letter.pdf', mimeType: 'application/pdf', buffer: pdf });
    // Records every progress value the bar shows, as a person watching it would.
    await worker.evaluate(`(() => {
      window.seen = [];
      const poll = () => {
        const bar = document.querySelector('record-uploader')?.shadowRoot?.querySelector('progress');
        if (bar) window.seen.push(bar.value / (bar.max || 1));
        requestAnimationFrame(poll);
      };
      poll();
    })()`);
    await up.locator('[part="form"] button[type="submit"]').click();
    await up.locator('[part="result"]').waitFor(SEE);
    const seen = (await worker.evaluate('window.seen')) as number[];
    assert.ok(seen.length > 0, 'the progress bar was shown');
    await shot(worker, '08-upload', '1-stored');
    await up.locator('[part="result"] ol.steps li[data-done]').nth(3).waitFor({ timeout: 90_000 });
    await shot(worker, '08-upload', '2-anchored');
    await shotOf(up, '08-upload', 'record-uploader');

    const doctor = await portal('doctorA');
    await reload(doctor);
    await search(doctor, 'Kreiger');
    await doctorViewer(doctor).locator('[part="search"] .matches button').first().click();
    const viewer = doctorViewer(doctor);
    await viewer.locator('[part="filters"] label').filter({ hasText: 'Documents' }).locator('input').check();
    // The Synthea record has no documents: the only one is the upload.
    await rows(viewer).first().click();
    await viewer.locator('[part="detail"] [part="badge"][data-state="verified"]').waitFor(SEE);
    await viewer.locator('[part="detail"] [part="attachment"]').waitFor(SEE);
    await shot(doctor, '08-upload', '3-doctor-opens-verified');
    await accessLogShows('doctorA', '08-upload');
  }));

  it('1. (cont.) a removed doctor loses access', STEP, () => screenshotsOnFailure(async () => {
    const doctor = await portal('doctorA');
    await search(doctor, 'Kreiger');
    await doctorViewer(doctor).locator('[part="search"] .matches button').first().waitFor(SEE);

    const hospital = await portal('hospitalA');
    const hel = hospital.locator('ehr-admin');
    await hel.getByRole('button', { name: new RegExp(`Remove.*${address('doctorA')}`, 'i') }).click();
    await confirmed(hel);
    await shot(hospital, '01-roles', '3-hospital-removed-doctor');

    await reload(doctor);
    await search(doctor, 'Kreiger');
    await doctorViewer(doctor).getByText('No patient you have access to matches').waitFor(SEE);
    await shot(doctor, '01-roles', '4-removed-doctor-refused');
  }));

  it('9. a payload altered in the outbox → the viewer shows tampered', STEP, () => screenshotsOnFailure(async () => {
    // Injected fault: the stored content hash of the patient's immunizations is changed in the
    // bridge's outbox (with the leaf recomputed, as a forger would), so it no longer matches what was anchored.
    const desk = JSON.parse(await (await fetch(`${stack.demoUrl}/api/desk`)).text()) as Array<{ sample: string; subject: string }>;
    const subject = desk.find((d) => d.sample.startsWith('tiny'))!.subject;
    const db = new DatabaseSync(join(stack.dataDir, 'bridge', 'outbox.db'));
    try {
      const list = db.prepare(`SELECT seq, subject, resource_type, resource_id, version_id, cid, salt FROM records WHERE subject = ? AND resource_type = 'Immunization'`).all(subject) as Array<Record<string, string>>;
      assert.ok(list.length > 0, 'the patient has immunizations');
      const forged = `0x${'ab'.repeat(32)}` as Hex;
      for (const r of list) {
        const leaf = leafHash({ subject: r.subject as Hex, resourceType: r.resource_type!, resourceId: r.resource_id!, versionId: r.version_id!, contentHash: forged, payloadCid: r.cid!, salt: r.salt as Hex });
        db.prepare('UPDATE records SET content_hash = ?, leaf = ? WHERE seq = ?').run(forged, leaf, Number(r.seq));
      }
    } finally {
      db.close();
    }
    const p = await portal('patient');
    await reload(p);
    const viewer = patientViewer(p);
    await viewer.locator('[part="filters"] label').filter({ hasText: 'Immunizations' }).locator('input').check();
    const badge = viewer.locator('[part="record"] [part="badge"][data-state="tampered"]').first();
    await badge.waitFor(SEE);
    await badge.click();
    await viewer.locator('[part="detail"] [role="alert"]').filter({ hasText: 'Tampered' }).waitFor(SEE);
    await shot(p, '09-tampered', '1-viewer-shows-tampered');
  }));

  it('the plain HTML page works with the one-file bundle', STEP, () => screenshotsOnFailure(async () => {
    const p = await portal('patient', 'index.html');
    await patientViewer(p).locator('[part="record"] [part="badge"][data-state="verified"]').first().waitFor(SEE);
    await shot(p, '00-plain-page', '1-patient-signed-in');
  }));

  it("10. the patient's access log lists every read above", STEP, () => screenshotsOnFailure(async () => {
    const p = await portal('patient');
    await reload(p);
    const log = consents(p).locator('[part="access-log"]');
    await log.waitFor(SEE);
    // Every read was checked in the log right after it happened (flows 5, 6, 8); the latest ones,
    // the removed doctor's refused search included, are still on screen at the end.
    const doctorA = log.locator('tbody tr').filter({ hasText: new RegExp(address('doctorA'), 'i') });
    assert.ok((await doctorA.count()) > 0, "doctor A's reads are in the access log");
    await shot(p, '10-access-log', '1-access-log');
  }));
});

