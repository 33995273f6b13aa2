import { useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import type { PortalConfig } from '../config.js';
import {
  PANELS,
  chooseWallet,
  initialRole,
  loadDesk,
  rememberRole,
  sessionSettled,
  signInWhenReady,
  type DeskEntry,
  type ProviderLike,
} from '../portal.js';
import { pushBundle, pushLabResult } from '../push.js';

type ProviderElement = ProviderLike;

/** The React 19 portal page: the same portal as the plain page, written the way a React app would. */
export function App({ config }: { config: PortalConfig }) {
  const wallet = useMemo(() => chooseWallet(config), [config]);
  const [role, setRole] = useState(() => initialRole(config).role);
  const [patientId, setPatientId] = useState('');
  const [pushStatus, setPushStatus] = useState('');
  const [sample, setSample] = useState(config.samples[0] ?? '');
  const [desk, setDesk] = useState<DeskEntry[]>([]);
  const provider = useRef<ProviderElement>(null);
  const doctorViewer = useRef<HTMLElement>(null);
  // The record key of the patient's own Patient resource: its version history (contact edits).
  const [patientKey, setPatientKey] = useState('');
  const [contactEdits, setContactEdits] = useState(0);
  useEffect(() => {
    setPatientKey('');
    const source = provider.current?.session?.dataSource as
      { getPatient?(id: string): Promise<{ key?: string }> } | undefined;
    if (!patientId || !source?.getPatient) return;
    let stopped = false;
    // Right after sign-in the session may not be usable yet: a few tries, a second apart.
    void (async () => {
      for (let i = 0; i < 10 && !stopped; i++) {
        try {
          const header = await source.getPatient!(patientId);
          if (!stopped) setPatientKey(header.key ?? '');
          return;
        } catch {
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
    })();
    return () => {
      stopped = true;
    };
  }, [patientId, contactEdits]);
  // The patient the doctor opened in the viewer: the clinical entry is written for that patient.
  const [doctorPatient, setDoctorPatient] = useState('');

  useEffect(() => void loadDesk().then(setDesk), []);

  // React 19 has no prop for an arbitrary custom event name that reads well; a listener on the ref does.
  useEffect(() => {
    const el = provider.current;
    if (!el) return;
    // The provider publishes the new session in its next update, after the event.
    const onSignedIn = () => void sessionSettled(el).then(() => setPatientId(el.session?.patientId ?? ''));
    // After a contact edit the newest Patient version has a new key.
    const onContact = () => setContactEdits((n) => n + 1);
    el.addEventListener('ehr-signed-in', onSignedIn);
    el.addEventListener('ehr-contact-updated', onContact);
    return () => {
      el.removeEventListener('ehr-signed-in', onSignedIn);
      el.removeEventListener('ehr-contact-updated', onContact);
    };
  }, []);

  useEffect(() => {
    const el = doctorViewer.current;
    if (!el) return;
    const onSelect = (e: Event) =>
      setDoctorPatient((e as CustomEvent<{ patientId: string }>).detail.patientId);
    el.addEventListener('ehr-patient-select', onSelect);
    return () => el.removeEventListener('ehr-patient-select', onSelect);
  }, []);

  useEffect(() => {
    rememberRole(role);
    setDoctorPatient('');
    const el = provider.current;
    if (!wallet.dev || !el) return;
    wallet.dev.use(config.accounts.find((a) => a.role === role)!.key);
    setPatientId('');
    void signInWhenReady(el);
  }, [role, wallet, config]);

  const sees = (panel: keyof typeof PANELS) => (PANELS[panel] as readonly string[]).includes(role);
  const connection = {
    ...(config.network ? {} : { 'bridge-url': config.bridgeUrl }),
    'rpc-url': config.rpcUrl,
    'chain-id': config.chainId,
    'contract-address': config.contractAddress,
  };

  function push(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const what = ((e.nativeEvent as SubmitEvent).submitter as HTMLButtonElement | null)?.value;
    setPushStatus('Pushing…');
    (what === 'lab-result' ? pushLabResult(sample) : pushBundle(sample)).then(
      (r) =>
        setPushStatus(
          `Pushed ${r.pushed} resource${r.pushed === 1 ? '' : 's'} (${r.what}); the bridge anchors them in its next batch.`,
        ),
      (error: unknown) => setPushStatus(`Push failed: ${(error as Error).message}`),
    );
  }

  return (
    <>
      <header className="portal-header">
        <div>
          <h1>Riverside Health portal</h1>
          <p className="muted">
            The same portal in React 19 with the elements' ESM build.{' '}
            <a href="./index.html">Plain HTML version</a>
          </p>
        </div>
        <form className="role-switcher" onSubmit={(e) => e.preventDefault()}>
          <label htmlFor="role">Signed in as</label>
          <select id="role" value={role} onChange={(e) => setRole(e.target.value)}>
            {config.accounts.map((a) => (
              <option key={a.role} value={a.role}>
                {a.label} — {a.address.slice(0, 8)}…
              </option>
            ))}
          </select>
          <span className="muted" role="status">
            {wallet.dev ? 'dev key wallet (no browser wallet found)' : 'using your browser wallet'}
          </span>
        </form>
      </header>
      <main>
        <ehr-provider ref={provider} {...connection} ethereum={wallet.ethereum}>
          <section className="panel" hidden={!sees('patient')} aria-labelledby="patient-h">
            <h2 id="patient-h">My health record</h2>
            <ehr-viewer mode="patient" patient-id={patientId} />
            <section className="my-details" aria-label="Versions of your details">
              {patientKey ? (
                <ehr-version-history patient-id={patientId} record-key={patientKey} heading-level={3} />
              ) : null}
            </section>
            <consent-manager patient-id={patientId} />
          </section>
          <section className="panel" hidden={!sees('doctor')} aria-labelledby="doctor-h">
            <h2 id="doctor-h">Patients</h2>
            <ehr-viewer ref={doctorViewer} mode="doctor" />
            {/* The element has its own "New clinical entry" heading. */}
            {doctorPatient ? (
              <clinical-entry key={doctorPatient} patient-id={doctorPatient} />
            ) : (
              <p className="muted">Open a patient above to write a clinical entry for them.</p>
            )}
          </section>
          <section className="panel" hidden={!sees('upload')} aria-label="Upload a document">
            <record-uploader />
          </section>
          <section className="panel" hidden={!sees('admin')} aria-labelledby="admin-h">
            <h2 id="admin-h">Network and registrations</h2>
            <ehr-admin />
          </section>
        </ehr-provider>
        <aside className="panel fhir-server" aria-labelledby="fhir-h">
          <h2 id="fhir-h">{config.fhirBaseUrl ? 'FHIR server (HAPI)' : 'FHIR server (simulated)'}</h2>
          <p className="muted">
            {config.fhirBaseUrl
              ? "Writes sample FHIR data into the hospital's FHIR server; its REST-hook subscription notifies the bridge."
              : "Pushes sample FHIR data to the bridge the way the hospital's FHIR server does."}
          </p>
          <form onSubmit={push}>
            <label htmlFor="sample">Sample patient</label>
            <select id="sample" value={sample} onChange={(e) => setSample(e.target.value)}>
              {config.samples.map((s) => (
                <option key={s} value={s}>
                  {s.replace(/\.json$/, '')}
                </option>
              ))}
            </select>
            <button type="submit" value="bundle">
              Push the Synthea bundle
            </button>
            <button type="submit" value="lab-result">
              Push a new lab result
            </button>
          </form>
          <p id="push-status" role="status" aria-live="polite">
            {pushStatus}
          </p>
          <h3>Registration desk</h3>
          <dl>
            {desk.flatMap((d) => [
              <dt key={`${d.sample}-t`}>{d.sample.replace(/\.json$/, '')}</dt>,
              <dd key={`${d.sample}-d`} className="mono">
                {d.subject}
              </dd>,
            ])}
          </dl>
        </aside>
      </main>
    </>
  );
}
