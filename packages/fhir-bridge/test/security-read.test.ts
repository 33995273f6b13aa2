/**
 * Security review (issue 16), finding 7 and the audit part of finding 6, on the read world (real
 * bridge over HTTP, anvil with the consent cast, Kubo): what a stranger learns from the operator
 * routes and from record numbers, and what a flood of refused reads costs the audit trail.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '@ehr-anchor/testkit';
import type { AuditEvent, Patient } from 'fhir/r4';
import { BEARER } from './helpers.js';
import { api, signIn, startReadWorld, type ReadWorld } from './read-harness.js';

describe('security: identifiers and refusals (finding 7)', () => {
  let w: ReadWorld;
  let stranger: string;
  let patientToken: string;
  let observationSeq: number;

  before(async () => {
    // A window longer than the test: its end is forced with flush(true), never waited for.
    w = await startReadWorld({ read: { deniedAuditWindowSec: 600 } });
    stranger = await signIn(w.bridge.url, w.wallets.stranger);
    patientToken = await signIn(w.bridge.url, w.wallets['patient self']);
    const list = await api(
      w.bridge.url,
      `/patients/${w.subject}/records?category=observations`,
      patientToken,
    );
    observationSeq = (list.body.items as { seq: number }[])[0]!.seq;
  });
  after(async () => w?.stop());

  it('answers "exists but forbidden" and "does not exist" identically (was 403 vs 404)', async () => {
    const missing = 9_999_999;
    for (const path of [
      '/records/{}',
      '/records/{}/state',
      '/documents/{}/content',
      '/records/{}/versions',
    ]) {
      const exists = await api(w.bridge.url, path.replace('{}', String(observationSeq)), stranger);
      const absent = await api(w.bridge.url, path.replace('{}', String(missing)), stranger);
      assert.equal(exists.status, 403, `${path}: refused`);
      assert.equal(absent.status, exists.status, `${path}: same status`);
      assert.deepEqual(absent.body, exists.body, `${path}: same body`);
      const anonymous = [
        await api(w.bridge.url, path.replace('{}', String(observationSeq)), undefined),
        await api(w.bridge.url, path.replace('{}', String(missing)), undefined),
      ];
      assert.deepEqual(
        anonymous.map((r) => r.status),
        [401, 401],
      );
      assert.deepEqual(anonymous[0]!.body, anonymous[1]!.body);
    }
    // The patient still reads it.
    assert.equal((await api(w.bridge.url, `/records/${observationSeq}`, patientToken)).status, 200);
  });

  it('keeps /anchors and the counts of /status for operators: a stranger cannot map a patient id to its pseudonym and salt', async () => {
    const patientId = w.patient.id!;
    const known = await api(w.bridge.url, `/anchors/Patient/${patientId}`, undefined);
    const unknown = await api(w.bridge.url, '/anchors/Patient/no-such-patient', undefined);
    assert.equal(known.status, 401, 'was 200 with subject, salt and content hash');
    assert.deepEqual(unknown.body, known.body, 'the same answer whether the patient exists or not');
    // A session is not an operator credential either.
    assert.equal((await api(w.bridge.url, `/anchors/Patient/${patientId}`, stranger)).status, 401);
    const operator = await api(w.bridge.url, `/anchors/Patient/${patientId}`, BEARER);
    assert.equal(operator.status, 200);
    assert.equal((operator.body.versions as { leaf: { subject: string } }[])[0]!.leaf.subject, w.subject);
    assert.equal((await api(w.bridge.url, '/anchors/Patient/no-such-patient', BEARER)).status, 404);
    // /status: what the chain shows to anyone (the elements read the signer), counts to the operator.
    const open = await api(w.bridge.url, '/status', undefined);
    assert.equal(open.status, 200);
    assert.deepEqual(Object.keys(open.body).sort(), ['chainId', 'latestBatches', 'registry', 'signer']);
    const full = await api(w.bridge.url, '/status', BEARER);
    assert.ok(full.body.records && full.body.deadLetters && full.body.lagMs !== undefined);
    // Batches are what the chain shows anyway.
    assert.equal((await api(w.bridge.url, '/batches', undefined)).status, 200);
  });

  it('audits a flood of refused reads as one AuditEvent per caller and window, with the count (was one anchored record each)', async () => {
    const auditor = w.bridge.app.read.side.auditor;
    // Close the windows the earlier tests opened, so this one starts fresh.
    await w.bridge.app.read.side.denials.flush(true);
    const before = auditor.written;
    for (let i = 0; i < 50; i++)
      assert.equal((await api(w.bridge.url, `/records/${observationSeq}`, stranger)).status, 403);
    assert.equal(auditor.written - before, 1, 'the first refusal is recorded at once');
    // The window ends (here forced; the bridge's timer does the same when it runs out).
    await w.bridge.app.read.side.denials.flush(true);
    assert.equal(auditor.written - before, 2, 'one more AuditEvent for the other 49');
    // The patient reads the aggregated entry of their access log: the count and the period.
    const log = await api(w.bridge.url, `/patients/${w.subject}/access-log?limit=5`, patientToken);
    const entries = (log.body.items as { actor: string | null; outcome: string; auditSeq: number }[]).filter(
      (e) => e.actor === w.wallets.stranger.address && e.outcome === 'denied',
    );
    // Newest first: the aggregated entry, then the flood's first refusal (earlier tests left older ones).
    assert.ok(entries.length >= 2);
    const event = await waitFor(
      async () => {
        const r = await api(w.bridge.url, `/records/${entries[0]!.auditSeq}`, patientToken);
        return r.status === 200 ? (r.body.resource as AuditEvent) : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200, what: 'the aggregated AuditEvent stored' },
    );
    assert.match(event.outcomeDesc!, /^49 more refused requests/);
    assert.ok(event.period?.start && event.period.end);
    // 50 unauthenticated reads: the same.
    await w.bridge.app.read.side.denials.flush(true);
    const anonymousBefore = auditor.written;
    for (let i = 0; i < 50; i++)
      assert.equal((await api(w.bridge.url, `/records/${observationSeq}`, undefined)).status, 401);
    assert.equal(auditor.written - anonymousBefore, 1);
    await w.bridge.app.read.side.denials.flush(true);
    assert.equal(auditor.written - anonymousBefore, 2);
  });

  it('keeps no patient id in the read store or the outbox (PHI scan of every file the bridge wrote)', async () => {
    const { readdirSync, readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const patient = w.patient as Patient;
    const names = [patient.id!, ...(patient.name ?? []).flatMap((n) => [n.family!, ...(n.given ?? [])])];
    for (const file of readdirSync(w.bridge.dir)) {
      const bytes = readFileSync(join(w.bridge.dir, file));
      for (const term of names.filter((n) => n && n.length >= 5))
        assert.equal(bytes.indexOf(term), -1, `${file} holds ${term}`);
    }
  });
});
