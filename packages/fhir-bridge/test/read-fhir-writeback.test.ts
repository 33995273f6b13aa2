/**
 * Write-back to a real FHIR server (HAPI FHIR from the testkit): the patient's contact edit becomes
 * a new Patient version on the server (fhir-kit-client) and that server version is anchored; the
 * consent mirror writes Consent resources there, active or inactive as on chain.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  DEV_KEYS,
  scanBytes,
  loadSyntheaBundles,
  loadBulkResources,
  loadSyntheaIntoHapi,
  startHapi,
  waitFor,
  type Hapi,
} from '@ehr-anchor/testkit';
import { Wallet } from 'ethers';
import type { Consent, Patient } from 'fhir/r4';
import { consentId } from '../src/read/consent-mirror.js';
import { pseudonym } from '@ehr-anchor/core';
import { BEARER, faultProxy, push } from './helpers.js';
import { api, send, signIn, startReadWorld, type ReadWorld } from './read-harness.js';

async function fhirGet<T>(base: string, path: string): Promise<{ status: number; body: T }> {
  const res = await fetch(`${base}/${path}`, { headers: { accept: 'application/fhir+json' } });
  return { status: res.status, body: (await res.json()) as T };
}

describe('read side write-back to HAPI FHIR', () => {
  let hapi: Hapi;
  let w: ReadWorld;
  // The bridge writes through a proxy that injects a fault on purpose (named as such): a 500 for
  // one consent, while HAPI takes every other write.
  let proxy: Awaited<ReturnType<typeof faultProxy>>;
  const faults = { consentId: '' };

  before(async () => {
    hapi = await startHapi();
    await loadSyntheaIntoHapi(hapi.baseUrl, [loadSyntheaBundles().get('tiny-clemente-kreiger.json')!], {
      mode: 'put',
    });
    proxy = await faultProxy(hapi.baseUrl, ({ method, path }) =>
      faults.consentId && method === 'PUT' && path.startsWith(`/Consent/${faults.consentId}`)
        ? 500
        : undefined,
    );
    const proxyUrl = proxy.url;
    // The consent the patient gave hospital B keeps failing (both wallets are dev keys, known now).
    faults.consentId = consentId(
      new Wallet(DEV_KEYS.patient).address,
      new Wallet(DEV_KEYS.hospitalB).address,
    );
    w = await startReadWorld({
      read: { fhirBaseUrl: proxyUrl },
      writeBack: { maxAttempts: 3, retryBaseMs: 50, retryMaxMs: 200 },
    });
  });
  after(async () => {
    await w?.stop();
    proxy?.close();
    await hapi?.stop();
  });

  it("writes the patient's contact edit to the FHIR server and anchors the server's new version", async () => {
    const before = await fhirGet<Patient>(hapi.baseUrl, `Patient/${w.patient.id}`);
    assert.equal(before.status, 200);
    const token = await signIn(w.bridge.url, w.wallets['patient self']);
    // A change made on an older version is refused (If-Match), and nothing is written.
    const stale = await api(w.bridge.url, `/patients/${w.subject}/contact`, token, {
      method: 'PATCH',
      body: { baseVersionId: `${before.body.meta!.versionId!}0`, phone: '+1 555 0199' },
    });
    assert.equal(stale.status, 412, JSON.stringify(stale.body));
    assert.equal(
      (await fhirGet<Patient>(hapi.baseUrl, `Patient/${w.patient.id}`)).body.meta?.versionId,
      before.body.meta?.versionId,
    );
    const r = await api(w.bridge.url, `/patients/${w.subject}/contact`, token, {
      method: 'PATCH',
      body: {
        baseVersionId: before.body.meta!.versionId!,
        phone: '+1 555 0100',
        address: { line: ['1 New Street'], city: 'Boston' },
      },
    });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const after = await fhirGet<Patient>(hapi.baseUrl, `Patient/${w.patient.id}`);
    assert.equal(after.body.telecom?.find((t) => t.system === 'phone')?.value, '+1 555 0100');
    assert.equal(after.body.address?.[0]?.city, 'Boston');
    // Only the named fields changed: the geolocation extension, the state and everything else stay.
    const strip = (p: Patient) => {
      const { meta: _m, telecom: _t, ...rest } = structuredClone(p);
      const a = rest.address?.[0];
      if (a) {
        delete a.line;
        delete a.city;
      }
      return rest;
    };
    assert.deepEqual(strip(after.body), strip(before.body));
    assert.ok(after.body.address?.[0]?.extension?.length, 'the address keeps its geolocation');
    assert.notEqual(after.body.meta?.versionId, before.body.meta?.versionId, 'a new server version');
    assert.equal(
      r.body.versionId,
      after.body.meta?.versionId,
      'the bridge queued exactly the server version',
    );
    await waitFor(
      async () => (await w.bridge.app.outbox.bySeq([r.body.seq as number]))[0]?.state === 'anchored',
      { what: 'edit anchored', timeoutMs: 60_000 },
    );
  });

  it('a contact edit changes only phone and email and keeps every other field byte for byte, for every fixture Patient (round trip through HAPI)', async () => {
    const bundles = loadSyntheaBundles();
    const patients = [
      ...[...bundles.values()].map(
        (b) => b.entry!.find((e) => e.resource?.resourceType === 'Patient')!.resource as Patient,
      ),
      ...(loadBulkResources(['Patient']) as Patient[]),
    ];
    assert.equal(patients.length, 18, 'the 5 Synthea and 13 bulk Patients');
    assert.equal(new Set(patients.map((p) => p.id)).size, 18);
    // Each Patient on the FHIR server and in the bridge's outbox, its subject registered to the patient's wallet.
    const others = patients.filter((p) => p.id !== w.patient.id);
    for (const p of others) {
      const put = await fetch(`${hapi.baseUrl}/Patient/${p.id}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/fhir+json' },
        body: JSON.stringify(p),
      });
      assert.ok(put.ok, `HAPI stored Patient ${p.id}: ${put.status}`);
    }
    const pushed = await push(w.bridge.url, '/fhir', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: others.map((resource) => ({
        resource,
        request: { method: 'PUT', url: `Patient/${resource.id}` },
      })),
    });
    assert.equal(pushed.status, 202);
    const key = w.bridge.app.keyStore.pseudonymKey();
    const subjects = await Promise.all(patients.map((p) => pseudonym(p.id!, key)));
    await waitFor(
      async () => {
        for (const p of others) {
          const v = await w.bridge.app.outbox.versions('Patient', p.id!);
          if (!v.some((x) => x.state !== 'received')) return false;
        }
        return true;
      },
      { what: 'every Patient stored by the bridge', timeoutMs: 120_000 },
    );
    const hospitalA = new Wallet(DEV_KEYS.hospitalA).address;
    const patientWallet = w.wallets['patient self'].address;
    for (const [i, p] of patients.entries()) {
      if (p.id === w.patient.id) continue;
      await send(w.as(DEV_KEYS.patient), 'requestRegistration', hospitalA, subjects[i]);
      await send(w.as(DEV_KEYS.hospitalA), 'approveRegistration', patientWallet);
    }
    const token = await signIn(w.bridge.url, w.wallets['patient self']);
    /** Every field but `meta` and `telecom`, as the server serialized it. */
    const rest = (p: Patient) => {
      const { meta: _m, telecom: _t, ...others } = p;
      return JSON.stringify(others);
    };
    for (const [i, p] of patients.entries()) {
      const before = (await fhirGet<Patient>(hapi.baseUrl, `Patient/${p.id}`)).body;
      const phone = `+1 555 01${String(i).padStart(2, '0')}`;
      const email = `patient-${i}@example.org`;
      const r = await api(w.bridge.url, `/patients/${subjects[i]}/contact`, token, {
        method: 'PATCH',
        body: { baseVersionId: before.meta!.versionId!, phone, email },
      });
      assert.equal(r.status, 202, `${p.id}: ${JSON.stringify(r.body)}`);
      const after = (await fhirGet<Patient>(hapi.baseUrl, `Patient/${p.id}`)).body;
      assert.notEqual(after.meta?.versionId, before.meta?.versionId, `${p.id}: a new version`);
      assert.equal(rest(after), rest(before), `${p.id}: every other field byte-equal`);
      // telecom: the first phone and email carry the new values with their other attributes; every other entry as it was.
      const expected = structuredClone(before.telecom ?? []);
      for (const [system, value] of [
        ['phone', phone],
        ['email', email],
      ] as const) {
        const at = expected.findIndex((t) => t.system === system);
        if (at >= 0) expected[at] = { ...expected[at], value };
        else expected.push(system === 'phone' ? { system, value, use: 'home' } : { system, value });
      }
      assert.deepEqual(after.telecom, expected, `${p.id}: telecom`);
    }
  });

  it('writes the consent mirror to the FHIR server: live grants active, revoked inactive, referencing the Patient', async () => {
    const patientWallet = w.wallets['patient self'].address;
    const id = (name: keyof ReadWorld['wallets']) => consentId(patientWallet, w.wallets[name].address);
    // The mirror needs the Patient in the search index to reference it on the server.
    await waitFor(() => w.bridge.app.read.store.latestPatientSeq(w.subject) !== undefined, {
      what: 'patient indexed',
      timeoutMs: 30_000,
    });
    await w.bridge.app.read.mirror.sync();
    const granted = await waitFor(
      async () => {
        const c = await fhirGet<Consent>(hapi.baseUrl, `Consent/${id('granted doctor')}`);
        return c.status === 200 ? c.body : undefined;
      },
      { what: 'Consent on the FHIR server', timeoutMs: 30_000 },
    );
    assert.equal(granted.status, 'active');
    assert.equal(granted.patient?.reference, `Patient/${w.patient.id}`);
    assert.equal(
      (await fhirGet<Consent>(hapi.baseUrl, `Consent/${id('revoked grant')}`)).body.status,
      'inactive',
    );
    // A revocation now reaches the server too.
    await send(w.as(DEV_KEYS.patient), 'revokeAccess', w.wallets['granted doctor'].address);
    await waitFor(
      async () =>
        (await fhirGet<Consent>(hapi.baseUrl, `Consent/${id('granted doctor')}`)).body.status === 'inactive',
      {
        what: 'revocation written back',
        timeoutMs: 30_000,
      },
    );
  });

  it('dead-letters the one Consent the server keeps refusing (500) after its attempts, writes the others, and puts it back on retry', async () => {
    const store = w.bridge.app.read.store;
    await waitFor(() => (store.consentDeadLetters() === 1 ? true : undefined), {
      what: 'the failing consent dead-lettered',
      timeoutMs: 60_000,
      intervalMs: 100,
    });
    const patientWallet = w.wallets['patient self'].address;
    assert.equal(
      (
        await fhirGet<Consent>(
          hapi.baseUrl,
          `Consent/${consentId(patientWallet, w.wallets['granted hospital'].address)}`,
        )
      ).status,
      404,
      'never written',
    );
    assert.equal(
      (
        await fhirGet<Consent>(
          hapi.baseUrl,
          `Consent/${consentId(patientWallet, w.wallets['expired grant'].address)}`,
        )
      ).status,
      200,
      'the others were written',
    );
    const headers = { authorization: `Bearer ${BEARER}` };
    const status = (await (await fetch(`${w.bridge.url}/status`, { headers })).json()) as {
      deadLetters: { consent: number };
    };
    assert.equal(status.deadLetters.consent, 1);
    faults.consentId = '';
    const retried = (await (
      await fetch(`${w.bridge.url}/dead-letters/retry`, { method: 'POST', headers })
    ).json()) as { consent: number };
    assert.equal(retried.consent, 1);
    await waitFor(
      async () =>
        (
          await fhirGet<Consent>(
            hapi.baseUrl,
            `Consent/${consentId(patientWallet, w.wallets['granted hospital'].address)}`,
          )
        ).status === 200,
      { what: 'the retried consent written', timeoutMs: 30_000 },
    );
    assert.equal(store.consentDeadLetters(), 0);
  });

  it('logged no patient data (PHI scan: 0 hits)', async () => {
    assert.deepEqual(scanBytes(Buffer.from(w.logs.text())), []);
  });
});
