/**
 * Doctors' clinical entries over HTTP (issue 10), on a real HAPI FHIR server, real anvil and real
 * Kubo: an entry with every section lands on the FHIR server with its LOINC/UCUM/RxNorm codes and
 * is anchored version by version; invalid entries and doctors the chain does not allow are refused
 * with an OperationOutcome and write nothing; an amendment makes a second version, and both
 * versions verify against the chain.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { leafHash, verifyRecord, type Hex, type LeafInput } from '@ehr-anchor/core';
import type { EntryReceipt, RecordRead, RecordVersions } from '@ehr-anchor/core/api';
import {
  createRestHookSubscription,
  loadSyntheaBundles,
  loadSyntheaIntoHapi,
  scanBytes,
  startHapi,
  waitFor,
  type Hapi,
} from '@ehr-anchor/testkit';
import type {
  Bundle,
  ClinicalImpression,
  Condition,
  Encounter,
  FhirResource,
  MedicationRequest,
  Observation,
  OperationOutcome,
} from 'fhir/r4';
import { EntryRejected, EntryWriter, parseEntry } from '../src/entries/write.js';
import { fullEntry, qty, UCUM } from './entry-fixture.js';
import { BEARER } from './helpers.js';
import { api, signIn, startReadWorld, type ReadWorld } from './read-harness.js';

async function fhirGet<T>(base: string, path: string): Promise<T> {
  const res = await fetch(`${base}/${path}`, { headers: { accept: 'application/fhir+json' } });
  assert.equal(res.status, 200, `GET ${path}`);
  return (await res.json()) as T;
}

/** How many Encounters the FHIR server holds for the patient (the "nothing written" probe). */
async function encounterCount(base: string, patientId: string): Promise<number> {
  return (await fhirGet<Bundle>(base, `Encounter?subject=Patient/${patientId}&_summary=count`)).total ?? -1;
}

describe('clinical entries over HTTP (real HAPI FHIR + anvil + Kubo)', () => {
  let hapi: Hapi;
  let w: ReadWorld;
  let doctor: string;
  let first: EntryReceipt;

  before(async () => {
    hapi = await startHapi();
    await loadSyntheaIntoHapi(hapi.baseUrl, [loadSyntheaBundles().get('tiny-clemente-kreiger.json')!], {
      mode: 'put',
    });
    w = await startReadWorld({ read: { fhirBaseUrl: hapi.baseUrl } });
    doctor = await signIn(w.bridge.url, w.wallets['granted doctor']);
  });
  after(async () => {
    await w?.stop();
    await hapi?.stop();
  });

  const post = (token: string | undefined, body: unknown, subject = w.subject) =>
    api(w.bridge.url, `/patients/${subject}/entries`, token, { method: 'POST', body });

  it('writes an entry with every section to the FHIR server with its codes and units, and anchors the server versions', async () => {
    const r = await post(doctor, fullEntry(w.patient.id!));
    assert.equal(r.status, 201, JSON.stringify(r.body));
    first = r.body as unknown as EntryReceipt;
    assert.equal(first.items.length, 10);
    assert.match(first.encounter, /^Encounter\/[A-Za-z0-9\-.]+$/);
    for (const item of first.items)
      assert.match(item.reference, /^[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]+\/_history\/1$/);

    // On the server: every resource exists, references the Encounter, and carries its codes/units.
    const byType = (t: string) => first.items.filter((i) => i.resourceType === t);
    const observations = await Promise.all(
      byType('Observation').map((i) => fhirGet<Observation>(hapi.baseUrl, `Observation/${i.resourceId}`)),
    );
    for (const o of observations) assert.equal(o.encounter?.reference, first.encounter);
    const code = (o: Observation) => o.code.coding?.[0]?.code;
    const bp = observations.find((o) => code(o) === '85354-9')!;
    assert.deepEqual(
      bp.component?.map((c) => [
        c.code.coding?.[0]?.code,
        c.valueQuantity?.value,
        c.valueQuantity?.system,
        c.valueQuantity?.code,
      ]),
      [
        ['8480-6', 142, UCUM, 'mm[Hg]'],
        ['8462-4', 91, UCUM, 'mm[Hg]'],
      ],
    );
    const units = Object.fromEntries(
      observations
        .filter((o) => o.valueQuantity)
        .map((o) => [code(o), `${o.valueQuantity!.value} ${o.valueQuantity!.code}`]),
    );
    assert.deepEqual(units, {
      '8867-4': '72 /min',
      '8310-5': '36.8 Cel',
      '29463-7': '81.5 kg',
      '8302-2': '178 cm',
      '2339-0': '104 mg/dL',
    });
    const lab = observations.find((o) => code(o) === '2339-0')!;
    assert.equal(lab.category?.[0]?.coding?.[0]?.code, 'laboratory');
    assert.deepEqual([lab.referenceRange?.[0]?.low?.value, lab.referenceRange?.[0]?.high?.value], [70, 99]);
    assert.ok(
      observations
        .filter((o) => code(o) !== '2339-0')
        .every((o) => o.category?.[0]?.coding?.[0]?.code === 'vital-signs'),
    );
    const condition = await fhirGet<Condition>(
      hapi.baseUrl,
      `Condition/${byType('Condition')[0]!.resourceId}`,
    );
    assert.equal(condition.clinicalStatus?.coding?.[0]?.code, 'active');
    assert.equal(condition.onsetDateTime, '2025-03-01');
    const med = await fhirGet<MedicationRequest>(
      hapi.baseUrl,
      `MedicationRequest/${byType('MedicationRequest')[0]!.resourceId}`,
    );
    assert.equal(med.medicationCodeableConcept?.coding?.[0]?.code, '316049');
    const impression = await fhirGet<ClinicalImpression>(
      hapi.baseUrl,
      `ClinicalImpression/${byType('ClinicalImpression')[0]!.resourceId}`,
    );
    assert.equal(impression.encounter?.reference, first.encounter);

    // Anchored: each version the server reported, and its proof verifies against the chain.
    await waitFor(
      async () =>
        (await w.bridge.app.outbox.bySeq(first.items.map((i) => i.seq))).every((r) => r.state === 'anchored'),
      {
        what: 'every entry version anchored',
        timeoutMs: 120_000,
      },
    );
    const read = await api(w.bridge.url, `/records/${byType('Condition')[0]!.seq}`, doctor);
    assert.equal(read.status, 200);
    const rec = read.body as unknown as RecordRead;
    assert.equal(rec.leaf.versionId, '1');
    assert.equal(rec.leaf.contentHash, byType('Condition')[0]!.contentHash);
    const verdict = await verifyRecord({
      resource: rec.resource,
      leaf: rec.leaf as LeafInput,
      proof: rec.proof as Hex[],
      root: rec.anchor!.root,
      subject: rec.leaf.subject,
      hospital: rec.anchor!.hospital,
      anchoredBy: async (root) => (await w.bridge.app.read.chain.anchorOf(root))?.hospital,
    });
    assert.equal(verdict.status, 'verified');
  });

  it('refuses an entry with a missing required field and names the field; nothing is written', async () => {
    const before = await encounterCount(hapi.baseUrl, w.patient.id!);
    const bundle = fullEntry(w.patient.id!);
    delete (bundle.entry![1]!.resource as Condition).onsetDateTime;
    const r = await post(doctor, bundle);
    assert.equal(r.status, 422);
    const outcome = r.body as unknown as OperationOutcome;
    assert.equal(outcome.resourceType, 'OperationOutcome');
    assert.deepEqual(
      outcome.issue.map((i) => i.expression?.[0]),
      ['Bundle.entry[1].resource.onsetDateTime'],
    );
    assert.equal(outcome.issue[0]!.code, 'required');
    assert.equal(await encounterCount(hapi.baseUrl, w.patient.id!), before);
  });

  it('refuses an impossible vital sign and a wrong unit, naming each; nothing is written', async () => {
    const before = await encounterCount(hapi.baseUrl, w.patient.id!);
    const bundle = fullEntry(w.patient.id!);
    (bundle.entry![4]!.resource as Observation).valueQuantity!.value = 900; // heart rate
    (bundle.entry![6]!.resource as Observation).valueQuantity = qty(180, '[lb_av]'); // weight in pounds
    const r = await post(doctor, bundle);
    assert.equal(r.status, 422);
    const outcome = r.body as unknown as OperationOutcome;
    assert.deepEqual(
      outcome.issue.map((i) => [i.expression?.[0], i.code]),
      [
        ['Bundle.entry[4].resource.valueQuantity.value', 'value'],
        ['Bundle.entry[6].resource.valueQuantity.code', 'code-invalid'],
      ],
    );
    assert.match(outcome.issue[0]!.diagnostics!, /Heart rate 900 \/min is outside 20–300/);
    assert.equal(await encounterCount(hapi.baseUrl, w.patient.id!), before);
  });

  it('refuses a bundle that is not an entry (other resource types, no Encounter, another patient) with 400/422', async () => {
    const notBundle = await post(doctor, { resourceType: 'Patient' });
    assert.equal(notBundle.status, 400);
    const withPatient = fullEntry(w.patient.id!);
    withPatient.entry!.push({
      fullUrl: `urn:uuid:${randomUUID()}`,
      resource: { resourceType: 'Patient', id: 'x' } as FhirResource,
      request: { method: 'POST', url: 'Patient' },
    });
    assert.equal((await post(doctor, withPatient)).status, 400, 'Patient is not an entry resource type');
    const noEncounter = fullEntry(w.patient.id!);
    noEncounter.entry!.shift();
    assert.equal((await post(doctor, noEncounter)).status, 400, 'no Encounter names the patient');
    const mixed = fullEntry(w.patient.id!);
    (mixed.entry![2]!.resource as MedicationRequest).subject = { reference: 'Patient/someone-else' };
    const m = await post(doctor, mixed);
    assert.equal(m.status, 422);
    assert.equal(
      (m.body as unknown as OperationOutcome).issue[0]!.expression?.[0],
      'Bundle.entry[2].resource.subject',
    );
    const wrongSubject = await post(doctor, fullEntry(w.patient.id!), w.otherSubject);
    assert.equal(wrongSubject.status, 403, 'the other patient never granted this doctor');
  });

  for (const [who, why, said] of [
    [
      'expired grant',
      'a doctor of this hospital whose grant expired',
      /^The patient has not granted you or .+ access to: .*Conditions.*\. Ask the patient to add these to a grant\.$/,
    ],
    ['removed doctor', 'a doctor the hospital removed (their grant is still on chain)', /active doctor/],
    [
      'doctor of granted hospital',
      "a doctor of another hospital (this bridge writes only for its own hospital's doctors)",
      // One reason, not a grant: entries go to the doctor's own hospital.
      /^You are a doctor of .+, not of .+: write the entry through .+’s own system\.$/,
    ],
    ['patient self', 'the patient', /active doctor/],
    ['stranger', 'a stranger', /active doctor/],
  ] as const) {
    it(`refuses ${why} with 403 OperationOutcome saying why, and writes nothing`, async () => {
      const before = await encounterCount(hapi.baseUrl, w.patient.id!);
      const token = await signIn(w.bridge.url, w.wallets[who]);
      const r = await post(token, fullEntry(w.patient.id!));
      assert.equal(r.status, 403, JSON.stringify(r.body));
      assert.equal((r.body as unknown as OperationOutcome).issue[0]!.code, 'security');
      assert.match((r.body as unknown as OperationOutcome).issue[0]!.diagnostics ?? '', said);
      assert.equal(await encounterCount(hapi.baseUrl, w.patient.id!), before);
    });
  }

  it('refuses an entry without a session (401)', async () => {
    assert.equal((await post(undefined, fullEntry(w.patient.id!))).status, 401);
  });

  it("refuses to amend another patient's resource by id (403), writing nothing", async () => {
    const other = (await (
      await fetch(`${hapi.baseUrl}/Patient`, {
        method: 'POST',
        headers: { 'content-type': 'application/fhir+json' },
        body: JSON.stringify({ resourceType: 'Patient', active: true }),
      })
    ).json()) as { id: string };
    const theirs = (await (
      await fetch(`${hapi.baseUrl}/Condition`, {
        method: 'POST',
        headers: { 'content-type': 'application/fhir+json' },
        body: JSON.stringify({
          resourceType: 'Condition',
          subject: { reference: `Patient/${other.id}` },
          code: { text: 'x' },
        }),
      })
    ).json()) as Condition;
    const bundle = fullEntry(w.patient.id!);
    const cond = bundle.entry![1]!;
    cond.resource = { ...(cond.resource as Condition), id: theirs.id! };
    cond.request = { method: 'PUT', url: `Condition/${theirs.id}` };
    delete cond.fullUrl;
    const r = await post(doctor, bundle);
    assert.equal(r.status, 403, JSON.stringify(r.body));
    assert.equal((await fhirGet<Condition>(hapi.baseUrl, `Condition/${theirs.id}`)).meta?.versionId, '1');
  });

  it('an amendment creates new versions; the history lists both, each anchored with a proof that verifies', async () => {
    assert.ok(first, 'the first entry was written');
    const encounterItem = first.items.find((i) => i.resourceType === 'Encounter')!;
    const conditionItem = first.items.find((i) => i.resourceType === 'Condition')!;
    const condition = await fhirGet<Condition>(hapi.baseUrl, `Condition/${conditionItem.resourceId}`);
    const encounter = await fhirGet<FhirResource>(hapi.baseUrl, `Encounter/${encounterItem.resourceId}`);
    const amended: Condition = {
      ...condition,
      clinicalStatus: {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'resolved' }],
      },
    };
    const amendment: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: encounter, request: { method: 'PUT', url: `Encounter/${encounterItem.resourceId}` } },
        {
          resource: amended,
          request: { method: 'PUT', url: `Condition/${conditionItem.resourceId}`, ifMatch: 'W/"1"' },
        },
      ],
    };
    const r = await post(doctor, amendment);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const receipt = r.body as unknown as EntryReceipt;
    const newCondition = receipt.items.find((i) => i.resourceType === 'Condition')!;
    assert.equal(newCondition.versionId, '2');
    assert.equal(
      receipt.items.find((i) => i.resourceType === 'Encounter')!.seq,
      encounterItem.seq,
      'an unchanged Encounter is the same version, anchored once',
    );
    assert.equal(
      (await fhirGet<Condition>(hapi.baseUrl, `Condition/${conditionItem.resourceId}`)).meta?.versionId,
      '2',
    );

    await waitFor(
      async () => (await w.bridge.app.outbox.bySeq([newCondition.seq]))[0]?.state === 'anchored',
      { what: 'amendment anchored', timeoutMs: 120_000 },
    );
    const history = await api(w.bridge.url, `/records/${newCondition.seq}/versions`, doctor);
    assert.equal(history.status, 200, JSON.stringify(history.body));
    const h = history.body as unknown as RecordVersions;
    assert.deepEqual(
      h.versions.map((v) => [v.versionId, v.seq, v.state]),
      [
        ['2', newCondition.seq, 'anchored'],
        ['1', conditionItem.seq, 'anchored'],
      ],
    );
    const statuses: string[] = [];
    for (const v of h.versions) {
      assert.ok(v.anchor && v.proof && v.leafHash);
      assert.equal(
        await w.bridge.app.read.chain.verifyLeaf(v.anchor.root, v.leafHash, v.proof),
        true,
        `version ${v.versionId} verifies on chain`,
      );
      const rec = (await api(w.bridge.url, `/records/${v.seq}`, doctor)).body as unknown as RecordRead;
      assert.equal(leafHash(rec.leaf as LeafInput), v.leafHash);
      const verdict = await verifyRecord({
        resource: rec.resource,
        leaf: rec.leaf as LeafInput,
        proof: rec.proof as Hex[],
        root: rec.anchor!.root,
        subject: rec.leaf.subject,
        hospital: rec.anchor!.hospital,
        anchoredBy: rec.anchor!.hospital,
      });
      assert.equal(verdict.status, 'verified');
      statuses.push((rec.resource as unknown as Condition).clinicalStatus!.coding![0]!.code!);
    }
    assert.deepEqual(statuses, ['resolved', 'active'], 'each version keeps its own content');
    const stranger = await signIn(w.bridge.url, w.wallets.stranger);
    assert.equal((await api(w.bridge.url, `/records/${newCondition.seq}/versions`, stranger)).status, 403);
  });

  /**
   * An amendment written against version 1 of the Condition, which the test above moved to version
   * 2: the Condition PUT carries If-Match W/"1"; the Encounter PUT in the same bundle names its
   * current version and changes the encounter class (so it would be written if anything were).
   */
  async function staleAmendment(): Promise<{ bundle: Bundle; condition: Condition; encounter: Encounter }> {
    const conditionItem = first.items.find((i) => i.resourceType === 'Condition')!;
    const encounterItem = first.items.find((i) => i.resourceType === 'Encounter')!;
    const condition = await fhirGet<Condition>(hapi.baseUrl, `Condition/${conditionItem.resourceId}`);
    const encounter = await fhirGet<Encounter>(hapi.baseUrl, `Encounter/${encounterItem.resourceId}`);
    assert.equal(condition.meta?.versionId, '2', 'the amendment above made version 2');
    const emergency: Encounter = { ...encounter, class: { ...encounter.class, code: 'EMER' } };
    const inactive: Condition = {
      ...condition,
      clinicalStatus: {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'inactive' }],
      },
    };
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          resource: emergency,
          request: {
            method: 'PUT',
            url: `Encounter/${encounter.id}`,
            ifMatch: `W/"${encounter.meta!.versionId}"`,
          },
        },
        {
          resource: inactive,
          request: { method: 'PUT', url: `Condition/${condition.id}`, ifMatch: 'W/"1"' },
        },
      ],
    };
    return { bundle, condition, encounter };
  }

  /** Nothing of a refused amendment reached the FHIR server or the outbox (so nothing is anchored). */
  async function assertUnchanged(
    condition: Condition,
    encounter: Encounter,
    rows: { condition: number; encounter: number },
  ): Promise<void> {
    const c = await fhirGet<Condition>(hapi.baseUrl, `Condition/${condition.id}`);
    assert.deepEqual([c.meta?.versionId, c.clinicalStatus?.coding?.[0]?.code], ['2', 'resolved']);
    const e = await fhirGet<Encounter>(hapi.baseUrl, `Encounter/${encounter.id}`);
    assert.deepEqual([e.meta?.versionId, e.class.code], [encounter.meta?.versionId, encounter.class.code]);
    assert.equal(
      (await w.bridge.app.outbox.versions('Condition', condition.id!)).length,
      rows.condition,
      'no Condition version queued',
    );
    assert.equal(
      (await w.bridge.app.outbox.versions('Encounter', encounter.id!)).length,
      rows.encounter,
      'no Encounter version queued',
    );
  }

  it('refuses an amendment of a stale version (If-Match W/"1", the server is at 2) with 412 OperationOutcome; nothing is written or anchored', async () => {
    assert.ok(first, 'the first entry was written');
    const { bundle, condition, encounter } = await staleAmendment();
    const rows = {
      condition: (await w.bridge.app.outbox.versions('Condition', condition.id!)).length,
      encounter: (await w.bridge.app.outbox.versions('Encounter', encounter.id!)).length,
    };
    const r = await post(doctor, bundle);
    assert.equal(r.status, 412, JSON.stringify(r.body));
    const outcome = r.body as unknown as OperationOutcome;
    assert.equal(outcome.resourceType, 'OperationOutcome');
    assert.deepEqual(
      outcome.issue.map((i) => [i.severity, i.code, i.expression?.[0]]),
      [['error', 'conflict', 'Bundle.entry[1].request.ifMatch']],
    );
    assert.match(
      outcome.issue[0]!.diagnostics!,
      /Condition was changed since version 1 \(it is now at version 2\).*nothing was written/,
    );
    await assertUnchanged(condition, encounter, rows);
  });

  it("refuses the same stale amendment with 412 when only the FHIR server's transaction catches it (changed between preflight and write)", async () => {
    assert.ok(first, 'the first entry was written');
    const { bundle, condition, encounter } = await staleAmendment();
    const rows = {
      condition: (await w.bridge.app.outbox.versions('Condition', condition.id!)).length,
      encounter: (await w.bridge.app.outbox.versions('Encounter', encounter.id!)).length,
    };
    // The write step alone, without the preflight that would refuse it first: HAPI's own If-Match check.
    const writer = new EntryWriter({
      fhir: { baseUrl: hapi.baseUrl },
      outbox: w.bridge.app.outbox,
      pseudonymKey: () => assert.fail('a refused transaction reads nothing back'),
      source: 'hapi',
      onQueued: () => assert.fail('a refused transaction queues nothing'),
    });
    await assert.rejects(
      writer.write(parseEntry(bundle, `Patient/${w.patient.id}`), w.subject),
      (error: unknown) => {
        assert.ok(error instanceof EntryRejected, String(error));
        assert.equal(error.statusCode, 412);
        assert.deepEqual(
          error.outcome().issue.map((i) => i.code),
          ['conflict'],
        );
        return true;
      },
    );
    await assertUnchanged(condition, encounter, rows);
  });

  it("anchors an entry once even when the FHIR server's REST-hook also pushes its versions (outbox duplicates)", async () => {
    // Pushes HAPI delivered: new to the outbox (`received`, if a push beat the bridge's own enqueue) or duplicates.
    const pushed = async () => {
      const m = w.bridge.app.metrics;
      const values = [...(await m.received.get()).values, ...(await m.duplicates.get()).values];
      return values.filter((v) => v.labels.source === 'hapi').reduce((n, v) => n + v.value, 0);
    };
    await createRestHookSubscription(
      hapi.baseUrl,
      `${w.bridge.url}/fhir`,
      [`Authorization: Bearer ${BEARER}`],
      {
        criteria: ['Encounter?', 'Condition?', 'MedicationRequest?', 'Observation?', 'ClinicalImpression?'],
        sendDeletes: false,
      },
    );
    const before = await pushed();
    const r = await post(doctor, fullEntry(w.patient.id!));
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const receipt = r.body as unknown as EntryReceipt;
    await waitFor(async () => (await pushed()) - before >= receipt.items.length, {
      what: 'the REST-hook pushes of the entry',
      timeoutMs: 120_000,
    });
    await waitFor(
      async () =>
        (await w.bridge.app.outbox.bySeq(receipt.items.map((i) => i.seq))).every(
          (x) => x.state === 'anchored',
        ),
      {
        what: 'entry anchored',
        timeoutMs: 120_000,
      },
    );
    for (const item of receipt.items) {
      const rows = await w.bridge.app.outbox.versions(item.resourceType, item.resourceId);
      assert.deepEqual(
        rows.map((x) => [x.versionId, x.seq]),
        [['1', item.seq]],
        `${item.resourceType}/${item.resourceId}: one outbox row, one leaf`,
      );
    }
  });

  it('logged no patient data (PHI scan: 0 hits)', () => {
    assert.deepEqual(scanBytes(Buffer.from(w.logs.text())), []);
  });
});
