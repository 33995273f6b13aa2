/**
 * The plain HTML page's own script (the portal's code, not the elements': those come from the
 * one-file bundle). It configures `<ehr-provider>`, wires the role switcher to the dev wallet, signs
 * in after each switch, shows the panels for the role, and drives the simulated FHIR server.
 */
import type { PortalConfig } from './config.js';
import {
  chooseWallet,
  initialRole,
  loadConfig,
  loadDesk,
  rememberRole,
  sessionSettled,
  signInWhenReady,
  type ProviderLike,
} from './portal.js';
import { pushBundle, pushLabResult } from './push.js';

type ProviderElement = ProviderLike & { ethereum: unknown };

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

function showPanels(role: string): void {
  for (const panel of document.querySelectorAll<HTMLElement>('[data-roles]'))
    panel.hidden = !panel.dataset.roles!.split(' ').includes(role);
}

async function main(): Promise<void> {
  const config: PortalConfig = await loadConfig();
  // The bundle defines the elements; if it is missing or fails to load, say so instead of waiting forever.
  const defined = await Promise.race([
    customElements.whenDefined('ehr-provider').then(() => true),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 15_000)),
  ]);
  if (!config.bundleUrl || !defined) $('bundle-missing').hidden = false;
  const provider = $<ProviderElement>('provider');
  // Several hospitals: no bridge-url, the provider finds every hospital's bridge on chain.
  if (!config.network) provider.setAttribute('bridge-url', config.bridgeUrl);
  provider.setAttribute('rpc-url', config.rpcUrl);
  provider.setAttribute('chain-id', String(config.chainId));
  provider.setAttribute('contract-address', config.contractAddress);
  const wallet = chooseWallet(config);
  provider.ethereum = wallet.ethereum;

  // The patient's viewer and consents follow the signed-in patient's subject.
  provider.addEventListener(
    'ehr-signed-in',
    () =>
      void sessionSettled(provider).then(() => {
        const patientId = provider.session?.patientId ?? '';
        for (const id of ['patient-viewer', 'consents']) $(id).setAttribute('patient-id', patientId);
      }),
  );

  // The doctor's clinical entry is for the patient opened in the doctor's viewer.
  $('doctor-viewer').addEventListener('ehr-patient-select', (e) => {
    $('entry').setAttribute('patient-id', (e as CustomEvent<{ patientId: string }>).detail.patientId);
    $('entry').hidden = false;
    $('entry-none').hidden = true;
  });

  const select = $<HTMLSelectElement>('role');
  for (const a of config.accounts) select.add(new Option(`${a.label} — ${a.address.slice(0, 8)}…`, a.role));
  const note = $('wallet-note');
  async function switchTo(role: string): Promise<void> {
    const account = config.accounts.find((a) => a.role === role)!;
    rememberRole(role);
    showPanels(role);
    if (!wallet.dev) return;
    wallet.dev.use(account.key);
    note.textContent = 'dev key wallet (no browser wallet found)';
    await signInWhenReady(provider);
  }
  if (wallet.dev) {
    const first = initialRole(config);
    select.value = first.role;
    select.addEventListener('change', () => void switchTo(select.value));
    await switchTo(first.role);
  } else {
    // A real wallet: the person picks the account in it; the switcher only picks the panels.
    note.textContent = 'using your browser wallet';
    select.addEventListener('change', () => showPanels(select.value));
    showPanels(select.value);
  }

  if (config.fhirBaseUrl) {
    $('fhir-h').textContent = 'FHIR server (HAPI)';
    $('fhir-note').textContent =
      "Writes sample FHIR data into the hospital's FHIR server; its REST-hook subscription notifies the bridge.";
  }

  const samples = $<HTMLSelectElement>('sample');
  for (const s of config.samples) samples.add(new Option(s.replace(/\.json$/, ''), s));
  const status = $('push-status');
  $<HTMLFormElement>('push-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const what = (e.submitter as HTMLButtonElement | null)?.value ?? 'bundle';
    status.textContent = 'Pushing…';
    (what === 'lab-result' ? pushLabResult(samples.value) : pushBundle(samples.value)).then(
      (r) =>
        (status.textContent = `Pushed ${r.pushed} resource${r.pushed === 1 ? '' : 's'} (${r.what}); the bridge anchors them in its next batch.`),
      (error: unknown) => (status.textContent = `Push failed: ${(error as Error).message}`),
    );
  });

  const desk = $('desk');
  for (const entry of await loadDesk()) {
    const dt = document.createElement('dt');
    dt.textContent = entry.sample.replace(/\.json$/, '');
    const dd = document.createElement('dd');
    dd.className = 'mono';
    dd.textContent = entry.subject;
    desk.append(dt, dd);
  }
}

void main();
