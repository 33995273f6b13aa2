/**
 * End-to-end, issue 18: the two-hospital stack of `npm start` (two Kubo nodes in one private
 * network, a HAPI FHIR server and a bridge per hospital, each bridge's URL published on chain) and
 * the portal in Chromium with `<ehr-provider>` finding both bridges from chain state.
 *
 * The dev patient (the tiny Synthea sample's person) was seen at both hospitals: part of their
 * history is at A under A's ids, the rest at B under B's own ids, and the dev patient wallet is
 * registered to both subjects.
 *
 * In order: the patient sees one timeline of both hospitals, every record verified against its own
 * hospital; Doctor B, granted by the patient, reads A's records through A's bridge and writes an
 * entry that lands in B's FHIR server, anchored by B's bridge; once the patient revokes Doctor B,
 * A's bridge refuses Doctor B from the next block; with A's bridge stopped the patient sees
 * "Dev Hospital A is unavailable" and B's records still verified.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEV_KEYS, loadSyntheaBundles, loadSyntheaIntoHapi, waitFor } from '@ehr-anchor/testkit';
import { bundlesFor } from '@ehr-anchor/stack/hospital-fixtures';
import { DEV_SOURCE_SECRET } from '@ehr-anchor/stack/bridge';
import { Contract, JsonRpcProvider, Wallet } from 'ethers';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import type { Encounter } from 'fhir/r4';
import { launchBrowser, shot, startStack, type E2eStack } from './harness.js';

const TINY = 'tiny-clemente-kreiger.json';
const STEP = { timeout: 300_000 };
const SEE = { timeout: 90_000 };
const address = (role: keyof typeof DEV_KEYS) => new Wallet(DEV_KEYS[role]).address;

let stack: E2eStack;
let browser: Browser;
let context: BrowserContext;
const pages = new Map<string, Page>();
/** Records each hospital anchored for the dev patient (its share of the tiny sample). */
const shares: Record<'A' | 'B', number> = { A: 0, B: 0 };

async function anchoredAt(bridgeUrl: string): Promise<number> {
  const res = await fetch(`${bridgeUrl}/status`, {
    headers: { authorization: `Bearer ${DEV_SOURCE_SECRET}` },
  });
  return ((await res.json()) as { records: { anchored: number } }).records.anchored;
}

before(async () => {
  stack = await startStack(undefined, { hospitals: 2 });
  // The dev patient's history, split between the hospitals, into each hospital's FHIR server; each
  // server notifies its own bridge (REST-hook subscription), which anchors its share.
  const all = loadSyntheaBundles();
  const split = bundlesFor(2, (s) => all.get(s)!);
  for (const [letter, list, suffix] of [
    ['A', split.hospitalA, ''],
    ['B', split.hospitalB, 'B'],
  ] as const) {
    const share = list.find((b) => b.sample === TINY)!.bundle;
    shares[letter] = share.entry!.length;
    await loadSyntheaIntoHapi(stack.values[`fhirBaseUrl${suffix}`]!, new Map([[TINY, share]]), {
      mode: 'put',
    });
  }
  await waitFor(
    async () =>
      (await anchoredAt(stack.values.bridgeUrl!)) >= shares.A &&
      (await anchoredAt(stack.values.bridgeUrlB!)) >= shares.B,
    { timeoutMs: 240_000, intervalMs: 1_000, what: 'both hospitals’ shares anchored' },
  );
  browser = await launchBrowser();
  context = await browser.newContext({ viewport: { width: 1400, height: 1600 } });
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

async function signedIn(p: Page): Promise<void> {
  await p.locator('ehr-provider [part="status"]').filter({ hasText: 'Signed in as' }).waitFor(SEE);
}

async function portal(role: string): Promise<Page> {
  let p = pages.get(role);
  if (!p) {
    p = await context.newPage();
    pages.set(role, p);
    await p.goto(`${stack.demoUrl}/react.html?role=${role}`);
  }
  await signedIn(p);
  return p;
}

async function reload(p: Page): Promise<void> {
  await p.reload();
  await signedIn(p);
}

const patientViewer = (p: Page) => p.locator('section:has(#patient-h) ehr-viewer');
const doctorViewer = (p: Page) => p.locator('section:has(#doctor-h) ehr-viewer');
const consents = (p: Page) => p.locator('consent-manager');
const fromHospital = (viewer: Locator, name: string) =>
  viewer
    .locator('[part="record"]')
    .filter({ has: viewer.page().locator('[part="origin"]', { hasText: `From ${name}` }) });

async function confirmed(scope: Locator): Promise<void> {
  const status = scope.locator('[part="tx-status"]');
  await status.and(scope.page().locator('[data-phase="confirmed"], [data-phase="failed"]')).waitFor(SEE);
  assert.equal(await status.getAttribute('data-phase'), 'confirmed', (await status.textContent()) ?? '');
}

/** Every row of `name`'s records verified (none tampered, none unknown), and how many there are. */
async function allVerified(viewer: Locator, name: string): Promise<number> {
  const rows = fromHospital(viewer, name);
  await rows.first().waitFor(SEE);
  await waitFor(
    async () =>
      (await rows.locator('[part="badge"]:not([data-state="verified"])').count()) === 0 &&
      (await rows.count()) > 0,
    { timeoutMs: 90_000, intervalMs: 500, what: `${name}'s records verified` },
  );
  return rows.count();
}

/** Doctor B's bridge session at a bridge (EIP-4361 over HTTP, as the portal does). */
async function sessionAt(bridgeUrl: string, wallet: Wallet): Promise<string> {
  const c = (await (await fetch(`${bridgeUrl}/auth/nonce`, { method: 'POST' })).json()) as {
    nonce: string;
    domain: string;
    uri: string;
    chainId: number;
    statement: string;
  };
  const message = [
    `${c.domain} wants you to sign in with your Ethereum account:`,
    wallet.address,
    '',
    c.statement,
    '',
    `URI: ${c.uri}`,
    'Version: 1',
    `Chain ID: ${c.chainId}`,
    `Nonce: ${c.nonce}`,
    `Issued At: ${new Date().toISOString()}`,
  ].join('\n');
  const res = await fetch(`${bridgeUrl}/auth/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ message, signature: await wallet.signMessage(message) }),
  });
  assert.equal(res.status, 200, await res.clone().text());
  return ((await res.json()) as { token: string }).token;
}

describe('two hospitals, one patient (issue 18), end to end in the portal', () => {
  it(
    'the patient seen at A and B sees both hospitals’ records in one timeline, each verified against its own hospital',
    STEP,
    async () => {
      const p = await portal('patient');
      const viewer = patientViewer(p);
      const a = await allVerified(viewer, 'Dev Hospital A');
      const b = await allVerified(viewer, 'Dev Hospital B');
      assert.ok(a > 0 && b > 0, `records of both hospitals shown (A ${a}, B ${b})`);
      assert.equal(await viewer.locator('[part="badge"][data-state="tampered"]').count(), 0);
      assert.equal(await viewer.locator('[part="hospital-states"]').count(), 0, 'no hospital missing');
      await shot(p, '18-hospitals', '1-patient-merged-timeline');
    },
  );

  it(
    'Doctor B, granted by the patient, reads A’s records through A’s bridge and writes an entry that lands in B’s FHIR server, anchored by B’s bridge',
    { timeout: 420_000 },
    async () => {
      const patient = await portal('patient');
      const cm = consents(patient);
      await cm.locator('[part="grant-form"] input[name="grantee"]').fill(address('doctorB'));
      await cm.locator('[part="grant-form"] select[name="kind"]').selectOption('doctor');
      await cm.locator('[part="grant-form"] input[name="everything"]').check();
      await cm.locator('[part="grant-form"] button[type="submit"]').click();
      await confirmed(cm);

      const doctor = await portal('doctorB');
      const viewer = doctorViewer(doctor);
      await viewer.locator('[part="search"] input[name="text"]').fill('Kreiger');
      await viewer.locator('[part="search"] button[type="submit"]').click();
      const matches = viewer.locator('[part="search"] .matches button');
      await matches.first().waitFor(SEE);
      assert.equal(await matches.count(), 1, 'the person seen at both hospitals is one match');
      await matches.first().click();
      assert.ok((await allVerified(viewer, 'Dev Hospital A')) > 0, 'A’s records, read through A’s bridge');
      assert.ok((await allVerified(viewer, 'Dev Hospital B')) > 0);
      await shot(doctor, '18-hospitals', '2-doctor-b-reads-a-and-b');

      const entry = doctor.locator('section:has(#doctor-h) clinical-entry');
      await entry.locator('[part="form"]').waitFor(SEE);
      await doctor.evaluate(
        `document.querySelector('clinical-entry').addEventListener('ehr-entry-submitted', (e) => (window.entryItems = e.detail.items))`,
      );
      await entry.locator('#f-date').fill(new Date().toISOString().slice(0, 10));
      for (const [k, v] of Object.entries({ systolic: '128', diastolic: '82', heartRate: '70' }))
        await entry.locator(`#f-vital-${k}`).fill(v);
      await entry.locator('#f-assessment').fill('Seen at hospital B after a visit at hospital A.');
      await entry.locator('[part="form"] button[type="submit"]').click();
      await entry
        .locator('[part="result"]')
        .filter({ hasText: /All \d+ records of this entry are anchored\./ })
        .waitFor({ timeout: 180_000 });
      await shot(doctor, '18-hospitals', '3-doctor-b-entry-anchored');

      const items = (await doctor.evaluate('window.entryItems')) as Array<{
        resourceType: string;
        resourceId: string;
        key: string;
      }>;
      const encounter = items.find((i) => i.resourceType === 'Encounter')!;
      const read = (base: string) =>
        fetch(`${base}/Encounter/${encounter.resourceId}`, { headers: { accept: 'application/fhir+json' } });
      const atB = await read(stack.values.fhirBaseUrlB!);
      assert.equal(atB.status, 200, 'the Encounter is in B’s FHIR server');
      assert.match(((await atB.json()) as Encounter).subject?.reference ?? '', /^Patient\//);
      assert.equal((await read(stack.values.fhirBaseUrl!)).status, 404, 'and not in A’s');

      // Anchored by B's bridge: its outbox holds the version, in a batch whose root the chain says B anchored.
      const [version] = await stack.bridges[1]!.app.outbox.versions('Encounter', encounter.resourceId);
      assert.equal(version?.state, 'anchored');
      const batch = await stack.bridges[1]!.app.outbox.getBatch(version!.batchId!);
      const provider = new JsonRpcProvider(stack.values.rpcUrl, undefined, { staticNetwork: true });
      try {
        const registry = new Contract(
          stack.values.ehrRegistryAddress!,
          ['function anchorOf(bytes32) view returns (address hospital, uint64 timestamp, uint32 count)'],
          provider,
        );
        const [hospital] = (await registry.getFunction('anchorOf')(batch!.root)) as [string];
        assert.equal(hospital, address('hospitalB'), 'the root was anchored by hospital B');
      } finally {
        provider.destroy();
      }
      // The doctor's timeline shows the new entry from B, verified.
      await reload(doctor);
      await viewer.locator('[part="search"] input[name="text"]').fill('Kreiger');
      await viewer.locator('[part="search"] button[type="submit"]').click();
      await viewer.locator('[part="search"] .matches button').first().click();
      await fromHospital(viewer, 'Dev Hospital B')
        .filter({ hasText: 'Encounter' })
        .locator('[part="badge"][data-state="verified"]')
        .first()
        .waitFor(SEE);
    },
  );

  it(
    'after the patient revokes Doctor B, A’s bridge refuses Doctor B from the next block',
    STEP,
    async () => {
      const doctorB = new Wallet(DEV_KEYS.doctorB);
      const bridgeA = stack.values.bridgeUrl!;
      const token = await sessionAt(bridgeA, doctorB);
      const patientSubject = async () => {
        const p = await portal('patient');
        return (await p.evaluate(`document.querySelector('ehr-provider').session?.patientId`)) as string;
      };
      const subject = await patientSubject();
      const records = () =>
        fetch(`${bridgeA}/patients/${subject}/records?limit=1`, {
          headers: { authorization: `Bearer ${token}` },
        });
      // A's subject of the person: the patient's session names its first subject, which is A's.
      assert.equal((await records()).status, 200, 'Doctor B reads at A while the grant is in force');

      const patient = await portal('patient');
      const cm = consents(patient);
      await cm
        .getByRole('button', { name: /Revoke access of/ })
        .first()
        .click();
      await cm.getByRole('dialog').getByRole('button', { name: 'Revoke access', exact: true }).click();
      await confirmed(cm);
      // The first request after the revoking block is refused, with the same session.
      const refused = await records();
      assert.equal(refused.status, 403, 'A’s bridge refuses Doctor B');

      const doctor = await portal('doctorB');
      await reload(doctor);
      const viewer = doctorViewer(doctor);
      await viewer.locator('[part="search"] input[name="text"]').fill('Kreiger');
      await viewer.locator('[part="search"] button[type="submit"]').click();
      await viewer.getByText('No patient you have access to matches').waitFor(SEE);
      await shot(doctor, '18-hospitals', '4-doctor-b-refused-after-revoke');
    },
  );

  it(
    'with A’s bridge stopped the patient sees “Dev Hospital A is unavailable” and B’s records verified',
    STEP,
    async () => {
      await stack.bridges[0]!.close();
      const p = await portal('patient');
      await reload(p).catch(async () => signedIn(p));
      const viewer = patientViewer(p);
      await viewer
        .locator('[part="hospital-states"] [data-state="unavailable"]')
        .filter({ hasText: 'Dev Hospital A is unavailable' })
        .waitFor(SEE);
      assert.ok((await allVerified(viewer, 'Dev Hospital B')) > 0, 'B’s records still shown, verified');
      assert.equal(await fromHospital(viewer, 'Dev Hospital A').count(), 0);
      await shot(p, '18-hospitals', '5-hospital-a-unavailable');
    },
  );
});
