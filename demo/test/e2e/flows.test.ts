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
import { AtRestKeys, loadKeyStore } from '@ehr-anchor/fhir-bridge';
import { Wallet, hexlify, randomBytes } from 'ethers';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import type { Bundle, Condition, MedicationRequest, Observation, Patient } from 'fhir/r4';
import { launchBrowser, rpc, shot, shotOf, startStack, writeArtifact, type E2eStack } from './harness.js';

const address = (role: keyof typeof DEV_KEYS) => new Wallet(DEV_KEYS[role]).address;
/** An account on screen: shown by name or shortened, the whole address in data-address (any case). */
const byAddress = (role: keyof typeof DEV_KEYS) => `[data-address="${address(role)}" i]`;
/** The FHIR id of the dev patient's record (the tiny Synthea sample's Patient; fixture data, synthetic). */
const TINY_PATIENT = 'd78af07c-9cb9-4f31-9b11-c45a28f2eec8';
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
  assert.equal(await status.getAttribute('data-phase'), 'confirmed', (await status.textContent()) ?? '');
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
  // A grant names what it covers: here everything (search and the header need demographics too).
  await cm.locator('[part="grant-form"] input[name="everything"]').check();
  await cm.locator('[part="grant-form"] button[type="submit"]').click();
  await confirmed(cm);
}

const rows = (viewer: Locator) => viewer.locator('[part="record"]');
/** The viewer's "N records" line. */
async function recordCount(viewer: Locator): Promise<number> {
  return Number(
    /(\d+) records?/.exec((await viewer.getByText(/^\d+ records?$/).textContent()) ?? '')?.[1] ?? 0,
  );
}

/** On a failed step, a screenshot of every open tab (demo/test-results/failed/<tab>.png) shows what the person saw. */
async function screenshotsOnFailure<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    for (const [key, page] of pages)
      await shot(page, 'failed', key.replace(/[^a-z0-9]+/gi, '-'), false).catch(() => undefined);
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
  const mine = consents(p)
    .locator('[part="access-log"] tbody tr')
    .filter({ has: p.locator(byAddress(reader)) });
  await mine.first().waitFor(SEE);
  await shot(p, flow, `access-log-shows-${reader}`);
}

describe('the seed flows, end to end in the demo portal', () => {
  it(
    '3. a FHIR server pushes a Synthea bundle → the records appear in the viewer as pending, then verified',
    STEP,
    () =>
      screenshotsOnFailure(async () => {
        const p = await portal('patient');
        const viewer = patientViewer(p);
        // Nothing is loaded yet: the patient's record is still empty.
        await viewer
          .getByText('No records match these filters')
          .or(viewer.locator('[part="record"]'))
          .first()
          .waitFor(SEE);
        assert.equal(await rows(viewer).count(), 0, 'no records before the FHIR server pushes any');
        await shot(p, '03-fhir-push', '0-before-push');

        // The chain stalls: anvil mines no block until told (automine off, no interval mining), so the
        // bridge's anchor transactions wait in the mempool — what a person sees while a block is late.
        await rpc(stack.values.rpcUrl!, 'evm_setAutomine', [false]);
        await rpc(stack.values.rpcUrl!, 'evm_setIntervalMining', [0]);
        let pendingSeen = 0;
        try {
          await p.locator('#sample').selectOption('tiny-clemente-kreiger.json');
          await p.getByRole('button', { name: 'Push the Synthea bundle' }).click();
          await p
            .locator('#push-status')
            .filter({ hasText: 'Pushed 70 resources (Synthea bundle, into the FHIR server)' })
            .waitFor(SEE);
          // HAPI notifies the bridge resource by resource; the person comes back to the page until the
          // record is there: every record listed, none verified, the immunizations among them.
          const pending = viewer.locator('[part="record"] [part="badge"][data-state="pending"]');
          const immunizations = viewer
            .locator('[part="filters"] label')
            .filter({ hasText: 'Immunizations (4)' });
          for (let i = 0; i < 60 && !(await immunizations.count()); i++) {
            if (i > 0) await reload(p);
            await viewer
              .locator('[part="record"] [part="badge"], [role="status"]:has-text("No records")')
              .first()
              .waitFor(SEE);
          }
          await immunizations.waitFor(SEE);
          await pending.first().waitFor(SEE);
          pendingSeen = await recordCount(viewer);
          assert.ok((await pending.count()) > 0);
          assert.equal(
            await viewer.locator('[part="record"] [part="badge"][data-state="verified"]').count(),
            0,
            'nothing is verified while the chain mines no block',
          );
          await shot(p, '03-fhir-push', '1-records-pending');
          await shotOf(viewer, '03-fhir-push', 'ehr-viewer-pending');
        } finally {
          await rpc(stack.values.rpcUrl!, 'evm_setAutomine', [true]);
          await rpc(stack.values.rpcUrl!, 'evm_mine');
        }
        assert.ok(pendingSeen > 0, 'records were shown as pending');

        // Blocks again: the anchors are mined; every listed record verifies in the browser.
        const verified = viewer.locator('[part="record"] [part="badge"][data-state="verified"]');
        const notYet = viewer.locator(
          '[part="record"] [part="badge"][data-state="pending"], [part="record"] [part="badge"][data-state="checking"]',
        );
        for (let i = 0; i < 60; i++) {
          await reload(p);
          await verified.or(notYet).first().waitFor(SEE);
          await viewer
            .locator('[part="record"] [part="badge"][data-state="checking"]')
            .first()
            .waitFor({ state: 'detached', timeout: 60_000 });
          if (!(await notYet.count())) break;
        }
        assert.equal(await notYet.count(), 0, 'no record is still pending');
        assert.ok((await verified.count()) > 0);
        assert.ok(
          (await recordCount(viewer)) >= pendingSeen,
          'every record listed as pending is still listed, now verified',
        );
        assert.equal(
          await viewer
            .locator(
              '[part="record"] [part="badge"][data-state="tampered"], [part="record"] [part="badge"][data-state="unknown"]',
            )
            .count(),
          0,
        );
        await shot(p, '03-fhir-push', '2-records-verified');
      }),
  );

  it('4. the doctor searches the patient and sees nothing before consent', STEP, () =>
    screenshotsOnFailure(async () => {
      const p = await portal('doctorA');
      await search(p, 'Kreiger');
      await doctorViewer(p).getByText('No patient you have access to matches').waitFor(SEE);
      await shot(p, '04-no-consent', '1-doctor-finds-nothing');
    }),
  );

  it(
    '5. the patient grants the doctor → the doctor reads the record; the patient revokes → refused',
    STEP,
    () =>
      screenshotsOnFailure(async () => {
        const patient = await portal('patient');
        await consents(patient).locator('[part="grant-form"]').waitFor(SEE);
        await grant(patient, address('doctorA'), 'doctor');
        await consents(patient).locator('[part="grants"]').locator(byAddress('doctorA')).waitFor(SEE);
        await shot(patient, '05-consent', '1-patient-granted-doctor');
        await shotOf(consents(patient).locator('[part="base"]'), '05-consent', 'consent-manager');

        const doctor = await portal('doctorA');
        await search(doctor, 'Kreiger');
        await doctorViewer(doctor).locator('[part="search"] .matches button').first().click();
        await doctorViewer(doctor).locator('[part="header"] h2').filter({ hasText: 'Kreiger' }).waitFor(SEE);
        const badge = doctorViewer(doctor)
          .locator('[part="record"] [part="badge"][data-state="verified"]')
          .first();
        await badge.waitFor(SEE);
        await shot(doctor, '05-consent', '2-doctor-reads-verified');
        await shotOf(doctorViewer(doctor), '05-consent', 'ehr-viewer');
        await accessLogShows('doctorA', '05-consent');

        await consents(patient)
          .getByRole('button', { name: /Revoke access of/ })
          .first()
          .click();
        // Revoking asks first.
        await consents(patient)
          .getByRole('dialog')
          .getByRole('button', { name: 'Revoke access', exact: true })
          .click();
        await confirmed(consents(patient));
        await consents(patient).getByText('You have not granted anyone access').waitFor(SEE);
        await shot(patient, '05-consent', '3-patient-revoked');

        // The doctor's next read is refused by the bridge (consent is read from the chain on every request).
        await rows(doctorViewer(doctor)).nth(1).click();
        await doctorViewer(doctor)
          .locator('[part="detail"] [role="alert"]')
          .filter({ hasText: 'do not have access' })
          .waitFor(SEE);
        await search(doctor, 'Kreiger');
        await doctorViewer(doctor).getByText('No patient you have access to matches').waitFor(SEE);
        await shot(doctor, '05-consent', '4-doctor-refused');
      }),
  );

  it("6. the patient grants hospital B → hospital B's doctor reads the record", STEP, () =>
    screenshotsOnFailure(async () => {
      const patient = await portal('patient');
      await grant(patient, address('hospitalB'), 'hospital');
      await consents(patient).locator('[part="grants"]').locator(byAddress('hospitalB')).waitFor(SEE);
      const doctor = await portal('doctorB');
      await search(doctor, 'Kreiger');
      await doctorViewer(doctor).locator('[part="search"] .matches button').first().click();
      await doctorViewer(doctor)
        .locator('[part="record"] [part="badge"][data-state="verified"]')
        .first()
        .waitFor(SEE);
      await shot(doctor, '06-hospital-grant', '1-hospital-b-doctor-reads');
      await accessLogShows('doctorB', '06-hospital-grant');
    }),
  );

  it(
    '7. the patient edits contact info → a new Patient version on the FHIR server, anchored, shown with its history',
    STEP,
    () =>
      screenshotsOnFailure(async () => {
        const p = await portal('patient');
        const viewer = patientViewer(p);
        await viewer.getByRole('button', { name: 'Edit contact' }).click();
        await viewer.locator('form.contact-form input[name="phone"]').fill('555-0100');
        await viewer.getByRole('button', { name: 'Save contact' }).click();
        await viewer
          .getByText(/Contact details saved: Phone (changed from .* to|added:) 555-0100/)
          .first()
          .waitFor(SEE);
        await shot(p, '07-contact', '1-saved');
        // The bridge wrote the new version to HAPI; HAPI notified the bridge, which anchors it.
        const onServer = (await (
          await fetch(`${stack.fhirBaseUrl}/Patient/${TINY_PATIENT}`, {
            headers: { accept: 'application/fhir+json' },
          })
        ).json()) as Patient;
        assert.equal(onServer.meta?.versionId, '2', 'the FHIR server holds a second Patient version');
        assert.ok(
          onServer.telecom?.some((t) => t.value === '555-0100'),
          'with the new phone number',
        );
        // The new version is served once the bridge has it; its header shows the new number.
        for (
          let i = 0;
          i < 60 && !(await viewer.locator('[part="header"] dl').getByText('555-0100').count());
          i++
        ) {
          await reload(p);
          await viewer.locator('[part="header"] h2').waitFor(SEE);
        }
        await viewer.locator('[part="header"] dl').getByText('555-0100').waitFor(SEE);
        await shot(p, '07-contact', '2-new-version-shown');
        // The patient's details keep their history: two versions, each verified against the chain on its own.
        const history = p.locator('section.my-details ehr-version-history');
        const versions = history.locator('[part="version"]');
        const newestVerified = history.locator(
          '[part="version"][data-version="2"] [part="badge"][data-state="verified"]',
        );
        // The history is verified once, when it loads: the person comes back until the new version is anchored.
        for (let i = 0; i < 30 && !(await newestVerified.count()); i++) {
          if (i > 0) await reload(p);
          await versions.nth(1).waitFor(SEE);
        }
        await newestVerified.waitFor(SEE);
        await history
          .locator('[part="version"][data-version="1"] [part="badge"][data-state="verified"]')
          .waitFor(SEE);
        assert.deepEqual(
          await versions.evaluateAll((els) => els.map((e) => e.getAttribute('data-version'))),
          ['2', '1'],
        );
        assert.ok(
          (await history.locator('[part="version"][data-version="2"] ins').allTextContents()).some((t) =>
            t.includes('555-0100'),
          ),
          'the change is shown',
        );
        await shot(p, '07-contact', '3-version-history-verified');
        await shotOf(history, '07-contact', 'version-history');
      }),
  );

  it('2. a visitor sends a registration request; the hospital approves it', STEP, () =>
    screenshotsOnFailure(async () => {
      const desk = JSON.parse(await (await fetch(`${stack.demoUrl}/api/desk`)).text()) as Array<{
        sample: string;
        subject: string;
      }>;
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
      await admin.locator('[part="registrations"]').locator(byAddress('visitor')).waitFor(SEE);
      await shot(hospital, '02-registration', '2-hospital-sees-request');
      await admin.getByRole('button', { name: new RegExp(`Approve.*${address('visitor')}`, 'i') }).click();
      await confirmed(admin);
      await admin.getByText('No pending registration requests').waitFor(SEE);
      await shot(hospital, '02-registration', '3-approved');

      await reload(visitor);
      await visitor
        .locator('ehr-provider [part="status"]')
        .filter({ hasText: 'Signed in as patient' })
        .waitFor(SEE);
      await shot(visitor, '02-registration', '4-visitor-is-a-patient');
    }),
  );

  it('1. the admin adds a hospital; a hospital adds a doctor', STEP, () =>
    screenshotsOnFailure(async () => {
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
      await hel.locator('form[aria-label="Add doctor"] input[name="name"]').fill('Sam Rivera');
      await hel.locator('form[aria-label="Add doctor"] input[name="address"]').fill(address('healthWorker'));
      await hel.locator('form[aria-label="Add doctor"] button[type="submit"]').click();
      await confirmed(hel);
      await hel.locator('[part="doctors"]').locator(byAddress('healthWorker')).waitFor(SEE);
      await shot(hospital, '01-roles', '2-hospital-added-staff');
    }),
  );

  it('8. a health worker uploads a PDF with visible progress → the doctor opens it, verified', STEP, () =>
    screenshotsOnFailure(async () => {
      const desk = JSON.parse(await (await fetch(`${stack.demoUrl}/api/desk`)).text()) as Array<{
        sample: string;
        subject: string;
      }>;
      const subject = desk.find((d) => d.sample.startsWith('tiny'))!.subject;
      const patient = await portal('patient');
      await grant(patient, address('hospitalA'), 'hospital');

      const worker = await portal('healthWorker');
      const up = worker.locator('record-uploader');
      await up.locator('input[name="title"]').fill('Referral letter');
      await up.locator('input[name="patient"]').fill(subject);
      const pdf = Buffer.concat([
        Buffer.from('%PDF-1.4\n% synthetic referral letter (no patient data)\n'),
        Buffer.alloc(6 * 1024 * 1024, 0x20),
        Buffer.from('\n%%EOF\n'),
      ]);
      await up
        .locator('input[type="file"]')
        .setInputFiles({ name: 'referral-letter.pdf', mimeType: 'application/pdf', buffer: pdf });
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
      await viewer
        .locator('[part="filters"] label')
        .filter({ hasText: 'Documents' })
        .locator('input')
        .check();
      // The Synthea record has no documents: the only one is the upload.
      await rows(viewer).first().click();
      await viewer.locator('[part="detail"] [part="badge"][data-state="verified"]').waitFor(SEE);
      await viewer.locator('[part="detail"] [part="attachment"]').waitFor(SEE);
      await shot(doctor, '08-upload', '3-doctor-opens-verified');
      await accessLogShows('doctorA', '08-upload');
    }),
  );

  it(
    '11. (issue 10) a doctor with consent writes a clinical entry: on HAPI with its codes and units, anchored, verified in the viewer; invalid input writes nothing; an amendment shows two verified versions',
    { timeout: 420_000 },
    () =>
      screenshotsOnFailure(async () => {
        const fhir = async <T>(path: string): Promise<T> =>
          (await (
            await fetch(`${stack.fhirBaseUrl}/${path}`, {
              headers: { accept: 'application/fhir+json', 'cache-control': 'no-cache' },
            })
          ).json()) as T;
        const encounters = async () => (await fhir<Bundle>('Encounter?_summary=count')).total ?? 0;
        // Doctor A reads the patient through hospital A's grant (flow 8) and opens the record.
        const doctor = await portal('doctorA');
        await reload(doctor);
        await search(doctor, 'Kreiger');
        await doctorViewer(doctor).locator('[part="search"] .matches button').first().click();
        const entry = doctor.locator('section:has(#doctor-h) clinical-entry');
        await entry.locator('[part="form"]').waitFor(SEE);
        await doctor.evaluate(
          `document.querySelector('clinical-entry').addEventListener('ehr-entry-submitted', (e) => (window.entryItems = e.detail.items))`,
        );

        await entry.locator('#f-date').fill(new Date().toISOString().slice(0, 10));
        await entry.getByRole('button', { name: 'Add condition' }).click();
        await entry.locator('#f-cond-0-text').fill('Essential hypertension');
        await entry.locator('#f-cond-0-onset').fill('2025-03-01');
        await entry.getByRole('button', { name: 'Add medication' }).click();
        await entry.locator('#f-med-0-rxnorm').selectOption('316049');
        await entry.locator('#f-med-0-dose').fill('25');
        for (const [k, v] of Object.entries({
          systolic: '142',
          diastolic: '91',
          heartRate: '72',
          temperature: '36.8',
          weight: '81.5',
          height: '178',
        }))
          await entry.locator(`#f-vital-${k}`).fill(v);
        await entry.getByRole('button', { name: 'Add lab result' }).click();
        await entry.locator('#f-lab-0-pick').selectOption('2339-0');
        await entry.locator('#f-lab-0-value').fill('104');
        await entry.locator('#f-lab-0-low').fill('70');
        await entry.locator('#f-lab-0-high').fill('99');
        await entry.locator('#f-assessment').fill('Stage 1 hypertension.');

        // An impossible vital sign: the field says what is wrong, and nothing reaches the FHIR server.
        const before = await encounters();
        await entry.locator('#f-vital-temperature').fill('73');
        await entry.locator('[part="form"] button[type="submit"]').click();
        await entry.locator('#f-vital-temperature[aria-invalid="true"]').waitFor(SEE);
        assert.equal(
          await entry.locator('#f-vital-temperature-error').textContent(),
          'Body temperature must be between 25 and 45 Cel.',
        );
        await shot(doctor, '11-clinical-entry', '1-invalid-temperature');
        assert.equal(await encounters(), before, 'nothing was written to the FHIR server');

        await entry.locator('#f-vital-temperature').fill('36.8');
        await entry.locator('[part="form"] button[type="submit"]').click();
        await entry
          .locator('[part="result"]')
          .filter({ hasText: 'All 10 records of this entry are anchored.' })
          .waitFor({ timeout: 180_000 });
        await shot(doctor, '11-clinical-entry', '2-entry-anchored');
        await shotOf(entry, '11-clinical-entry', 'clinical-entry');

        // On HAPI, with LOINC codes and UCUM units, tied together by the entry's Encounter.
        const items = (await doctor.evaluate('window.entryItems')) as Array<{
          resourceType: string;
          resourceId: string;
        }>;
        assert.equal(items.length, 10);
        const encounter = items.find((i) => i.resourceType === 'Encounter')!;
        assert.equal(await encounters(), before + 1);
        const obs = await fhir<Bundle<Observation>>(
          `Observation?encounter=Encounter/${encounter.resourceId}`,
        );
        const codes = (obs.entry ?? [])
          .map((e) => e.resource!)
          .map(
            (o) =>
              `${o.code.coding?.[0]?.code} ${o.valueQuantity ? `${o.valueQuantity.value} ${o.valueQuantity.code}` : o.component?.map((c) => `${c.valueQuantity?.value} ${c.valueQuantity?.code}`).join('/')}`,
          );
        assert.deepEqual(codes.sort(), [
          '2339-0 104 mg/dL',
          '29463-7 81.5 kg',
          '8302-2 178 cm',
          '8310-5 36.8 Cel',
          '85354-9 142 mm[Hg]/91 mm[Hg]',
          '8867-4 72 /min',
        ]);
        const med = await fhir<Bundle<MedicationRequest>>(
          `MedicationRequest?encounter=Encounter/${encounter.resourceId}`,
        );
        assert.equal(med.entry?.[0]?.resource?.medicationCodeableConcept?.coding?.[0]?.code, '316049');
        assert.equal(
          med.entry?.[0]?.resource?.dosageInstruction?.[0]?.doseAndRate?.[0]?.doseQuantity?.value,
          25,
        );
        const condition = items.find((i) => i.resourceType === 'Condition')!;
        assert.equal(
          (await fhir<Condition>(`Condition/${condition.resourceId}`)).code?.text,
          'Essential hypertension',
        );

        // Amendment: the condition resolved → a second version, both verified against the chain.
        await entry.getByRole('button', { name: 'Amend this entry' }).click();
        await entry.locator('#f-cond-0-status').selectOption('resolved');
        await entry.locator('[part="form"] button[type="submit"]').click();
        const history = entry.locator('[part="history"] ehr-version-history').first();
        await history
          .locator('[part="version"] [part="badge"][data-state="verified"]')
          .nth(1)
          .waitFor({ timeout: 180_000 });
        assert.deepEqual(
          await history
            .locator('[part="version"]')
            .evaluateAll((els) => els.map((e) => e.getAttribute('data-version'))),
          ['2', '1'],
        );
        const amended = await fhir<Condition>(`Condition/${condition.resourceId}`);
        assert.deepEqual(
          [amended.meta?.versionId, amended.clinicalStatus?.coding?.[0]?.code],
          ['2', 'resolved'],
        );
        await shot(doctor, '11-clinical-entry', '3-amended-two-versions-verified');

        // In the doctor's viewer: the entry's condition, verified, with both versions verified.
        await reload(doctor);
        await search(doctor, 'Kreiger');
        await doctorViewer(doctor).locator('[part="search"] .matches button').first().click();
        const viewer = doctorViewer(doctor);
        await viewer
          .locator('[part="filters"] label')
          .filter({ hasText: 'Conditions' })
          .locator('input')
          .check();
        await rows(viewer).filter({ hasText: 'Essential hypertension' }).first().click();
        await viewer.locator('[part="detail"] [part="badge"][data-state="verified"]').first().waitFor(SEE);
        const inViewer = viewer.locator('[part="detail"] ehr-version-history');
        await inViewer.locator('[part="version"] [part="badge"][data-state="verified"]').nth(1).waitFor(SEE);
        assert.deepEqual(
          await inViewer
            .locator('[part="version"]')
            .evaluateAll((els) => els.map((e) => e.getAttribute('data-version'))),
          ['2', '1'],
        );
        await shot(doctor, '11-clinical-entry', '4-viewer-shows-entry-verified');
      }),
  );

  it('1. (cont.) a removed doctor loses access', STEP, () =>
    screenshotsOnFailure(async () => {
      const doctor = await portal('doctorA');
      await search(doctor, 'Kreiger');
      await doctorViewer(doctor).locator('[part="search"] .matches button').first().waitFor(SEE);

      const hospital = await portal('hospitalA');
      const hel = hospital.locator('ehr-admin');
      // The row of doctorA (shown by name, with the address beside it), and its Remove button.
      await hel
        .locator('[part="doctors"] tr', { has: hospital.locator(byAddress('doctorA')) })
        .getByRole('button', { name: /^Remove/ })
        .click();
      // Removing asks first.
      await hel.getByRole('dialog').getByRole('button', { name: 'Remove doctor', exact: true }).click();
      await confirmed(hel);
      await shot(hospital, '01-roles', '3-hospital-removed-doctor');

      await reload(doctor);
      await search(doctor, 'Kreiger');
      await doctorViewer(doctor).getByText('No patient you have access to matches').waitFor(SEE);
      await shot(doctor, '01-roles', '4-removed-doctor-refused');
    }),
  );

  it('9. a payload altered in the outbox → the viewer shows tampered', STEP, () =>
    screenshotsOnFailure(async () => {
      // Injected fault: the stored content hash of the patient's immunizations is changed in the
      // bridge's outbox (with the leaf recomputed, as a forger would), so it no longer matches what was anchored.
      const desk = JSON.parse(await (await fetch(`${stack.demoUrl}/api/desk`)).text()) as Array<{
        sample: string;
        subject: string;
      }>;
      const subject = desk.find((d) => d.sample.startsWith('tiny'))!.subject;
      const db = new DatabaseSync(join(stack.dataDir, 'bridge', 'outbox.db'));
      // Resource ids are sealed at rest: the forger needs the bridge's key store as well.
      const keys = new AtRestKeys(loadKeyStore(join(stack.dataDir, 'bridge', 'keys.json')).pseudonymKey());
      try {
        const list = db
          .prepare(
            `SELECT seq, subject, resource_type, resource_key, resource_ref, version_id, cid, salt FROM records WHERE subject = ? AND resource_type = 'Immunization'`,
          )
          .all(subject) as Array<Record<string, string> & { resource_ref: Uint8Array }>;
        assert.ok(list.length > 0, 'the patient has immunizations');
        const forged = `0x${'ab'.repeat(32)}` as Hex;
        for (const r of list) {
          const leaf = leafHash({
            subject: r.subject as Hex,
            resourceType: r.resource_type!,
            resourceId: keys.openId(r.resource_type!, r.resource_key!, r.resource_ref),
            versionId: r.version_id!,
            contentHash: forged,
            payloadCid: r.cid!,
            salt: r.salt as Hex,
          });
          db.prepare('UPDATE records SET content_hash = ?, leaf = ? WHERE seq = ?').run(
            forged,
            leaf,
            Number(r.seq),
          );
        }
      } finally {
        db.close();
      }
      const p = await portal('patient');
      await reload(p);
      const viewer = patientViewer(p);
      await viewer
        .locator('[part="filters"] label')
        .filter({ hasText: 'Immunizations' })
        .locator('input')
        .check();
      const badge = viewer.locator('[part="record"] [part="badge"][data-state="tampered"]').first();
      await badge.waitFor(SEE);
      await badge.click();
      await viewer.locator('[part="detail"] [role="alert"]').filter({ hasText: 'Tampered' }).waitFor(SEE);
      await shot(p, '09-tampered', '1-viewer-shows-tampered');
    }),
  );

  it('the plain HTML page works with the one-file bundle', STEP, () =>
    screenshotsOnFailure(async () => {
      const p = await portal('patient', 'index.html');
      await patientViewer(p)
        .locator('[part="record"] [part="badge"][data-state="verified"]')
        .first()
        .waitFor(SEE);
      await shot(p, '00-plain-page', '1-patient-signed-in');
    }),
  );

  it("10. the patient's access log lists every read above", STEP, () =>
    screenshotsOnFailure(async () => {
      const p = await portal('patient');
      await reload(p);
      const cm = consents(p);
      const log = cm.locator('[part="access-log"]');
      await log.waitFor(SEE);
      // The log comes a page at a time; the patient asks for older entries until it is all there.
      const older = cm.locator('[part="show-older"]');
      let pages = 1;
      for (; (await older.count()) && pages < 100; pages++) {
        const shown = await log.locator('tbody tr').count();
        await older.click();
        await log.locator('tbody tr').nth(shown).waitFor(SEE);
      }
      await cm.getByText(/^All \d+ entries shown\.$/).waitFor(SEE);
      assert.ok(pages > 1, 'the log took more than one page');
      // The end of the list, where the footer says every entry is shown (a full-page shot of hundreds of rows helps nobody).
      await cm.locator('.log-footer').scrollIntoViewIfNeeded();
      await shot(p, '10-access-log', '1-access-log-complete', false);

      // What the screen lists, against the bridge's own access log (its read store): every access by
      // anyone but the patient — the reads, downloads, entries and refusals of the flows above.
      const onScreen = await log.locator('tbody tr').evaluateAll((trs) =>
        trs.map((tr) => {
          const cells = [...tr.querySelectorAll('td')];
          const td = cells.map((c) => c.textContent?.trim() ?? '');
          // Shown in words (names, titles, "Read"); what the bridge recorded is in data-* attributes.
          const address = cells[1]?.querySelector('[data-address]')?.getAttribute('data-address');
          return {
            actor: (address ?? /anonymous/.exec(td[1] ?? '')?.[0] ?? td[1] ?? '').toLowerCase(),
            action: (tr as HTMLElement).dataset.action ?? '',
            what: (tr as HTMLElement).dataset.what ?? '',
            outcome: (tr as HTMLElement).dataset.outcome ?? '',
          };
        }),
      );
      const desk = JSON.parse(await (await fetch(`${stack.demoUrl}/api/desk`)).text()) as Array<{
        sample: string;
        subject: string;
      }>;
      const subject = desk.find((d) => d.sample.startsWith('tiny'))!.subject;
      const db = new DatabaseSync(join(stack.dataDir, 'bridge', 'outbox.db.read.db'), { readOnly: true });
      let recorded: Array<{ actor: string; action: string; what: string; outcome: string }>;
      try {
        recorded = (
          db
            .prepare('SELECT actor, action, entity, outcome FROM audit WHERE subject = ?')
            .all(subject) as Array<Record<string, string | null>>
        ).map((r) => ({
          actor: (r.actor ?? 'anonymous').toLowerCase(),
          action: r.action!,
          what: r.entity ?? '',
          outcome: r.outcome === 'allowed' ? 'success' : 'denied',
        }));
      } finally {
        db.close();
      }
      writeArtifact('10-access-log', 'access-log.json', JSON.stringify({ onScreen, recorded }, null, 1));
      const me = address('patient').toLowerCase();
      const key = (e: { actor: string; action: string; what: string; outcome: string }) =>
        `${e.actor} ${e.action} ${e.what} ${e.outcome}`;
      const others = (list: typeof recorded) =>
        list
          .filter((e) => e.actor !== me)
          .map(key)
          .sort();
      assert.deepEqual(others(onScreen), others(recorded), 'every access by someone else is listed, once');
      // And the ones the flows above made, by name.
      const has = (role: keyof typeof DEV_KEYS, action: string, outcome: string) =>
        onScreen.some(
          (e) => e.actor === address(role).toLowerCase() && e.action === action && e.outcome === outcome,
        );
      assert.ok(has('doctorA', 'read', 'success'), "doctor A's reads (flows 5, 8, 11)");
      assert.ok(has('doctorA', 'read', 'denied'), "doctor A's refused read after the revocation (flow 5)");
      assert.ok(has('doctorB', 'read', 'success'), "hospital B's doctor's read (flow 6)");
      assert.ok(has('healthWorker', 'upload', 'success'), "the health worker's upload (flow 8)");
    }),
  );
});
