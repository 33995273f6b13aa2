/**
 * The read side over real HTTP (real bridge, real anvil, real Kubo): the consent matrix, sessions,
 * records with proofs that verify against the chain, the consent mirror and access log, tamper
 * evidence, erasure, and a PHI scan of everything the bridge logged.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, it } from 'node:test';
import { leafHash, verifyRecord, type Hex, type LeafInput } from '@ehr-anchor/core';
import { TAMPER_SYSTEM, type RecordRead } from '@ehr-anchor/core/api';
import type { Patient } from 'fhir/r4';
import { scanBytes, waitFor } from '@ehr-anchor/testkit';
import { Wallet } from 'ethers';
import { SignJWT } from 'jose';
import { NO_SUBJECT } from '../src/ingest/prepare.js';
import { hasBlock } from '../src/read/erasure.js';
import {
  ACTORS,
  api,
  send,
  signIn,
  startReadWorld,
  upload,
  type ActorName,
  type ReadWorld,
} from './read-harness.js';

type Op = 'list' | 'read' | 'search' | 'download' | 'edit contact';
const OPS: Op[] = ['list', 'read', 'search', 'download', 'edit contact'];
const READERS = new Set<ActorName>([
  'patient self',
  'granted doctor',
  'granted hospital',
  'doctor of granted hospital',
]);

/** The rule: who may do what. */
function expected(actor: ActorName, op: Op): 'allow' | 'deny' | 'unauthenticated' {
  if (actor === 'no session') return 'unauthenticated';
  if (op === 'edit contact') return actor === 'patient self' ? 'allow' : 'deny';
  return READERS.has(actor) ? 'allow' : 'deny';
}

describe('bridge read side over HTTP (real anvil + Kubo)', () => {
  let w: ReadWorld;
  const tokens = new Map<ActorName, string | undefined>();
  let observationSeq: number;
  let documentSeq: number;
  const documentText = 'Discharge note: rest and fluids.\n'.repeat(100);

  before(async () => {
    w = await startReadWorld();
    for (const name of ACTORS)
      tokens.set(name, name === 'no session' ? undefined : await signIn(w.bridge.url, w.wallets[name]));
    const list = await api(
      w.bridge.url,
      `/patients/${w.subject}/records?type=Observation&limit=1`,
      tokens.get('patient self'),
    );
    assert.equal(list.status, 200, JSON.stringify(list.body));
    observationSeq = (list.body.items as { seq: number }[])[0]!.seq;
    const up = await upload(
      w.bridge.url,
      tokens.get('granted doctor')!,
      { subject: w.subject, title: 'Discharge note', date: '2026-11-01', category: '18842-5' },
      new Blob([documentText], { type: 'text/plain' }),
    );
    assert.equal(up.status, 201, JSON.stringify(up.body));
    documentSeq = up.body.seq as number;
    await waitFor(async () => (await w.bridge.app.outbox.bySeq([documentSeq]))[0]?.state === 'anchored', {
      what: 'document anchored',
      timeoutMs: 60_000,
    });
  });
  after(async () => {
    await w?.stop();
  });

  async function perform(actor: ActorName, op: Op): Promise<{ status: number; allowed: boolean }> {
    const token = tokens.get(actor);
    const url = w.bridge.url;
    switch (op) {
      case 'list': {
        const r = await api(url, `/patients/${w.subject}/records`, token);
        return { status: r.status, allowed: r.status === 200 && (r.body.items?.length ?? 0) > 0 };
      }
      case 'read': {
        const r = await api(url, `/records/${observationSeq}`, token);
        return { status: r.status, allowed: r.status === 200 };
      }
      case 'search': {
        const r = await api(url, '/patients/_search', token, {
          method: 'POST',
          body: { name: w.patient.name![0]!.family, birthDate: w.patient.birthDate },
        });
        const found =
          r.status === 200 && (r.body.items as { subject: string }[]).some((i) => i.subject === w.subject);
        return { status: r.status, allowed: found };
      }
      case 'download': {
        const r = await api(url, `/documents/${documentSeq}/content`, token);
        return {
          status: r.status,
          allowed: r.status === 200 && Buffer.isBuffer(r.body) && r.body.toString('utf8') === documentText,
        };
      }
      case 'edit contact': {
        // A change on the current Patient version (the newest the outbox has stored).
        const current = (await w.bridge.app.outbox.versions('Patient', w.patient.id!)).find(
          (v) => v.state !== 'received',
        )!;
        const r = await api(url, `/patients/${w.subject}/contact`, token, {
          method: 'PATCH',
          body: {
            baseVersionId: current.versionId,
            email: 'new-contact@example.org',
            address: { city: 'Springfield', country: 'US' },
          },
        });
        return { status: r.status, allowed: r.status === 202 };
      }
    }
  }

  it('enforces the consent matrix exactly, and writes an AuditEvent for every cell', async () => {
    // The search index follows the outbox; wait until the patient is in it.
    await waitFor(() => w.bridge.app.read.store.latestPatientSeq(w.subject) !== undefined, {
      what: 'patient indexed',
      timeoutMs: 30_000,
    });
    const rows: string[] = [];
    let cells = 0;
    for (const actor of ACTORS) {
      const line: string[] = [];
      for (const op of OPS) {
        const before = w.bridge.app.read.store.auditCount();
        const got = await perform(actor, op);
        const want = expected(actor, op);
        if (want === 'unauthenticated')
          assert.equal(got.status, 401, `${actor} × ${op}: 401 without a session`);
        else if (want === 'deny') {
          assert.equal(got.allowed, false, `${actor} × ${op} must be refused`);
          if (op !== 'search') assert.equal(got.status, 403, `${actor} × ${op}: 403 OperationOutcome`);
        } else assert.equal(got.allowed, true, `${actor} × ${op} must be allowed (status ${got.status})`);
        const audits = w.bridge.app.read.store.allAudit().slice(before);
        if (op === 'search') {
          // One entry for the search itself, plus one in the access log of each patient it disclosed.
          const main = audits.filter((a) => a.subject === NO_SUBJECT);
          assert.equal(main.length, 1, `${actor} × search: one AuditEvent for the search`);
          assert.equal(main[0]!.outcome, want === 'unauthenticated' ? 'denied' : 'allowed');
          assert.equal(
            audits.filter((a) => a.subject === w.subject).length,
            want === 'allow' ? 1 : 0,
            `${actor} × search: disclosure audited`,
          );
        } else {
          assert.equal(audits.length, 1, `${actor} × ${op}: exactly one AuditEvent`);
          assert.equal(
            audits[0]!.outcome,
            want === 'allow' ? 'allowed' : 'denied',
            `${actor} × ${op}: audited outcome`,
          );
          assert.equal(audits[0]!.actor, actor === 'no session' ? null : w.wallets[actor].address);
        }
        line.push(`${want === 'allow' ? 'allow' : want === 'deny' ? 'deny ' : '401  '}`);
        cells++;
      }
      rows.push(`${actor.padEnd(28)} ${line.join(' ')}`);
    }
    console.log(
      `consent matrix: ${ACTORS.length} actors × ${OPS.length} operations = ${cells} cells\n${' '.repeat(29)}${OPS.map((o) => o.slice(0, 5)).join(' ')}\n${rows.join('\n')}`,
    );
    assert.equal(cells, 50);
  });

  it('serves a record with leaf inputs, proof and anchor that verify against the chain independently', async () => {
    const r = await api(w.bridge.url, `/records/${observationSeq}`, tokens.get('granted doctor'));
    assert.equal(r.status, 200);
    const rec = r.body as unknown as RecordRead;
    assert.equal(rec.resource.resourceType, 'Observation');
    assert.ok(rec.anchor, 'anchored');
    const result = await verifyRecord({
      resource: rec.resource,
      leaf: rec.leaf as LeafInput,
      proof: rec.proof as Hex[],
      root: rec.anchor.root,
      // What the reader trusts: the patient registered on chain, hospital A (whose bridge this is).
      subject: w.subject as Hex,
      hospital: new Wallet((await import('@ehr-anchor/testkit')).DEV_KEYS.hospitalA).address,
      anchoredBy: async (root) => (await w.bridge.app.read.chain.anchorOf(root))?.hospital,
    });
    assert.equal(result.status, 'verified');
    assert.equal(
      await w.bridge.app.read.chain.verifyLeaf(rec.anchor.root, leafHash(rec.leaf as LeafInput), rec.proof!),
      true,
      'EhrRegistry.verifyLeaf',
    );
    const tx = await w.provider.getTransactionReceipt(rec.anchor.txHash!);
    assert.equal(tx?.blockNumber, rec.anchor.blockNumber);
    const progress = await api(
      w.bridge.url,
      `/records/${observationSeq}/state`,
      tokens.get('granted doctor'),
    );
    assert.equal(progress.status, 200);
    assert.deepEqual(
      { state: progress.body.state, payloadCid: progress.body.payloadCid, anchor: progress.body.anchor },
      { state: 'anchored', payloadCid: rec.leaf.payloadCid, anchor: rec.anchor },
    );
    assert.equal(
      (await api(w.bridge.url, `/records/${observationSeq}/state`, tokens.get('stranger'))).status,
      403,
    );
  });

  it('lists by category and type with paging that neither repeats nor skips', async () => {
    const token = tokens.get('patient self');
    const all = await api(
      w.bridge.url,
      `/patients/${w.subject}/records?category=observations&limit=500`,
      token,
    );
    const allSeqs = (all.body.items as { seq: number; category: string }[]).map((i) => i.seq);
    assert.ok(allSeqs.length >= 40);
    assert.ok((all.body.items as { category: string }[]).every((i) => i.category === 'observations'));
    const paged: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await api(
        w.bridge.url,
        `/patients/${w.subject}/records?category=observations&limit=7${cursor ? `&cursor=${cursor}` : ''}`,
        token,
      );
      paged.push(...(page.body.items as { seq: number }[]).map((i) => i.seq));
      cursor = page.body.next as string | undefined;
    } while (cursor);
    assert.deepEqual(paged, allSeqs);
    const future = await api(w.bridge.url, `/patients/${w.subject}/records?since=2999-01-01`, token);
    assert.equal(future.body.items?.length, 0);
  });

  it('filters by clinical date (from the decrypted resources) and splits the list exactly at a date', async () => {
    const token = tokens.get('patient self');
    const q = (extra: string) =>
      api(w.bridge.url, `/patients/${w.subject}/records?category=observations&limit=500${extra}`, token);
    const all = (await q('&from=1900-01-01')).body.items as { seq: number; date: string | null }[];
    assert.ok(
      all.length >= 40 && all.every((i) => i.date !== null),
      'every observation has an effective date',
    );
    const dates = all.map((i) => Date.parse(i.date!)).sort((a, b) => a - b);
    const pivot = new Date(dates[Math.floor(dates.length / 2)]!).toISOString();
    const after = (await q(`&from=${pivot}`)).body.items as { date: string }[];
    const before = (await q(`&to=${pivot}`)).body.items as { date: string }[];
    assert.ok(after.every((i) => i.date >= pivot) && before.every((i) => i.date < pivot));
    assert.equal(after.length + before.length, all.length);
    assert.ok(after.length > 0 && before.length > 0);
  });

  it('refuses a revoked grant on the very next request (403 OperationOutcome)', async () => {
    const token = tokens.get('granted hospital');
    assert.equal((await api(w.bridge.url, `/records/${observationSeq}`, token)).status, 200);
    await send(
      w.as((await import('@ehr-anchor/testkit')).DEV_KEYS.patient),
      'revokeAccess',
      w.wallets['granted hospital'].address,
    );
    const next = await api(w.bridge.url, `/records/${observationSeq}`, token);
    assert.equal(next.status, 403);
    assert.equal(next.body.resourceType, 'OperationOutcome');
    assert.equal((next.body.issue as { code: string }[])[0]!.code, 'security');
  });

  it('refuses forged, replayed, foreign and expired sign-ins and sessions with 401', async () => {
    const url = w.bridge.url;
    const wallet = w.wallets['granted doctor'];
    // Forged: a message for one address signed by another key.
    const { nonce } = (await (await fetch(`${url}/auth/nonce`, { method: 'POST' })).json()) as {
      nonce: string;
    };
    const host = new URL(url).host;
    const message = `${host} wants you to sign in with your Ethereum account:\n${wallet.address}\n\nSign in.\n\nURI: ${url}\nVersion: 1\nChain ID: 1337\nNonce: ${nonce}\nIssued At: ${new Date().toISOString()}`;
    const forged = await Wallet.createRandom().signMessage(message);
    const post = (m: string, s: string) =>
      fetch(`${url}/auth/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ message: m, signature: s }),
      });
    assert.equal((await post(message, forged)).status, 401, 'forged signature');
    // Replayed: the nonce was consumed by the failed attempt.
    assert.equal((await post(message, await wallet.signMessage(message))).status, 401, 'replayed nonce');
    // Another domain.
    const n2 = ((await (await fetch(`${url}/auth/nonce`, { method: 'POST' })).json()) as { nonce: string })
      .nonce;
    const foreign = message.replace(host, 'evil.example').replace(nonce, n2);
    assert.equal((await post(foreign, await wallet.signMessage(foreign))).status, 401, 'foreign domain');
    // A portal on loopback (the dev stack's demo) is accepted as the message's domain and uri (on a
    // loopback bridge without siweDomains), but not a loopback domain with a uri elsewhere.
    const n3 = ((await (await fetch(`${url}/auth/nonce`, { method: 'POST' })).json()) as { nonce: string })
      .nonce;
    const mixed = message.replace(host, 'localhost:8080').replace(nonce, n3);
    assert.equal((await post(mixed, await wallet.signMessage(mixed))).status, 401, 'uri on another origin');
    const n4 = ((await (await fetch(`${url}/auth/nonce`, { method: 'POST' })).json()) as { nonce: string })
      .nonce;
    const portal = message
      .replace(host, 'localhost:8080')
      .replace(`URI: ${url}`, 'URI: http://localhost:8080/')
      .replace(nonce, n4);
    assert.equal(
      (await post(portal, await wallet.signMessage(portal))).status,
      200,
      'loopback portal domain',
    );
    // A token signed with another secret.
    const fake = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(wallet.address)
      .setIssuer('urn:ehr-anchor:fhir-bridge')
      .setExpirationTime('1h')
      .sign(new Uint8Array(32));
    assert.equal((await api(url, `/records/${observationSeq}`, fake)).status, 401, 'forged token');
    // A session that ends with its message's expirationTime.
    const short = await signIn(url, wallet, { expirationTime: new Date(Date.now() + 2_000).toISOString() });
    assert.equal((await api(url, '/auth/session', short)).status, 200);
    await waitFor(async () => (await api(url, '/auth/session', short)).status === 401, {
      what: 'session expiry',
      timeoutMs: 15_000,
    });
  });

  it('mirrors grants as FHIR Consent resources readable by the patient (revoked and expired → inactive)', async () => {
    const r = await api(w.bridge.url, `/patients/${w.subject}/consents`, tokens.get('patient self'));
    assert.equal(r.status, 200);
    const consents = (
      r.body.entry as {
        resource: {
          status: string;
          provision?: { actor?: { reference: { identifier: { value: string } } }[] };
        };
      }[]
    ).map((e) => e.resource);
    const byGrantee = (name: Exclude<ActorName, 'no session'>) =>
      consents.find((c) =>
        c.provision?.actor?.[0]?.reference.identifier.value.endsWith(w.wallets[name].address),
      );
    assert.equal(byGrantee('granted doctor')?.status, 'active');
    assert.equal(byGrantee('revoked grant')?.status, 'inactive');
    assert.equal(byGrantee('expired grant')?.status, 'inactive');
    assert.equal(byGrantee('granted hospital')?.status, 'inactive', 'revoked in the previous test');
    assert.equal(
      (await api(w.bridge.url, `/patients/${w.subject}/consents`, tokens.get('granted doctor'))).status,
      403,
      'only the patient',
    );
  });

  it("lists who accessed the patient's records, and anchors the AuditEvents in batches", async () => {
    const r = await api(
      w.bridge.url,
      `/patients/${w.subject}/access-log?limit=1000`,
      tokens.get('patient self'),
    );
    assert.equal(r.status, 200);
    const items = r.body.items as {
      actor: string | null;
      action: string;
      outcome: string;
      auditSeq: number;
    }[];
    assert.ok(
      items.some(
        (i) =>
          i.actor === w.wallets['granted doctor'].address && i.action === 'read' && i.outcome === 'allowed',
      ),
    );
    assert.ok(items.some((i) => i.actor === w.wallets.stranger.address && i.outcome === 'denied'));
    assert.equal(
      (await api(w.bridge.url, `/patients/${w.subject}/access-log`, tokens.get('granted doctor'))).status,
      403,
    );
    const seqs = items.map((i) => i.auditSeq).slice(-20);
    await waitFor(async () => (await w.bridge.app.outbox.bySeq(seqs)).every((s) => s.state === 'anchored'), {
      what: 'AuditEvents anchored',
      timeoutMs: 60_000,
    });
    const anchored = await w.bridge.app.outbox.bySeq(seqs);
    assert.ok(
      new Set(anchored.map((a) => a.batchId)).size < anchored.length,
      'several AuditEvents share a batch',
    );
    // The patient reads one of those AuditEvents with its proof, like any record; nobody else can.
    const own = await api(w.bridge.url, `/records/${seqs[0]}`, tokens.get('patient self'));
    assert.equal(own.status, 200, JSON.stringify(own.body));
    const event = own.body as unknown as RecordRead;
    assert.equal(event.resource.resourceType, 'AuditEvent');
    assert.ok(event.anchor);
    assert.equal(
      await w.bridge.app.read.chain.verifyLeaf(event.anchor.root, event.leafHash, event.proof!),
      true,
    );
    assert.equal((await api(w.bridge.url, `/records/${seqs[0]}`, tokens.get('granted doctor'))).status, 403);
    // The session shows the patient's subject, read from the chain.
    const session = await api(w.bridge.url, '/auth/session', tokens.get('patient self'));
    assert.deepEqual((session.body.roles as { subjects: string[] }).subjects, [w.subject]);
  });

  it('pages the access log by cursor: the pages together hold every entry once, newest first, while new reads are logged', async () => {
    const patient = tokens.get('patient self');
    const whole = await api(w.bridge.url, `/patients/${w.subject}/access-log?limit=1000`, patient);
    const everything = (whole.body.items as { id: string }[]).map((i) => i.id);
    assert.ok(everything.length > 10, 'enough entries for several pages');
    assert.equal(whole.body.next, undefined, 'no next cursor once the page holds the rest');
    const seen: { id: string; recorded: string }[] = [];
    let next: string | undefined;
    for (let page = 0; page === 0 || next; page++) {
      const r = await api(
        w.bridge.url,
        `/patients/${w.subject}/access-log?limit=4${next ? `&before=${next}` : ''}`,
        patient,
      );
      assert.equal(r.status, 200, JSON.stringify(r.body));
      seen.push(...(r.body.items as { id: string; recorded: string }[]));
      next = r.body.next as string | undefined;
      // A doctor reads meanwhile: the new entries go before the first page, never into a later one.
      if (page === 0)
        assert.equal(
          (await api(w.bridge.url, `/records/${observationSeq}`, tokens.get('granted doctor'))).status,
          200,
        );
    }
    const ids = seen.map((i) => i.id);
    assert.equal(new Set(ids).size, ids.length, 'no entry on two pages');
    for (const id of everything) assert.ok(ids.includes(id), `entry ${id} is on a page`);
    const times = seen.map((i) => Date.parse(i.recorded));
    assert.deepEqual(
      times,
      [...times].sort((a, b) => b - a),
      'newest first across pages',
    );
    assert.equal(
      (await api(w.bridge.url, `/patients/${w.subject}/access-log?before=yesterday`, patient)).status,
      400,
      'a malformed cursor is refused',
    );
  });

  it('writes the edited contact details as a new anchored Patient version', async () => {
    const edited = w.bridge.app.read.store
      .allAudit()
      .filter((a) => a.action === 'edit' && a.outcome === 'allowed')[0];
    assert.ok(edited);
    const versions = await w.bridge.app.outbox.versions('Patient', w.patient.id!);
    assert.ok(versions.length >= 2, 'a new Patient version');
    await waitFor(
      async () => (await w.bridge.app.outbox.versions('Patient', w.patient.id!))[0]!.state === 'anchored',
      { what: 'edit anchored', timeoutMs: 60_000 },
    );
    const newest = (await w.bridge.app.outbox.versions('Patient', w.patient.id!))[0]!;
    const r = await api(w.bridge.url, `/records/${newest.seq}`, tokens.get('patient self'));
    assert.equal(r.status, 200);
    const resource = (r.body as unknown as RecordRead).resource as unknown as Patient;
    assert.equal(resource.telecom?.find((t) => t.system === 'email')?.value, 'new-contact@example.org');
    assert.equal(resource.address?.[0]?.city, 'Springfield');
    // Everything the change did not name is as it was (the phone, the address's geolocation, …).
    const { telecom: _t, address: _a, meta: _m, ...rest } = resource;
    const { telecom: _t0, address: _a0, meta: _m0, ...restBefore } = w.patient;
    assert.deepEqual(rest, restBefore);
    assert.deepEqual(
      resource.telecom?.filter((t) => t.system !== 'email'),
      w.patient.telecom?.filter((t) => t.system !== 'email'),
    );
    assert.deepEqual(resource.address?.[0]?.extension, w.patient.address?.[0]?.extension);
  });

  it('detects a corrupted IPFS block and an altered outbox row, and never serves them as valid', async () => {
    const token = tokens.get('patient self');
    const list = await api(w.bridge.url, `/patients/${w.subject}/records?type=Observation&limit=3`, token);
    const [a, b] = list.body.items as { seq: number }[];
    // 1. Flip one byte of the envelope's block in Kubo's repository.
    const info = (await w.bridge.app.outbox.bySeq([a!.seq]))[0]!;
    const chunks: Uint8Array[] = [];
    for await (const c of w.bridge.app.ipfs.client.cat(info.cid!)) chunks.push(c);
    const bytes = Buffer.concat(chunks);
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const f of readdirSync(dir)) {
        const p = join(dir, f);
        if (statSync(p).isDirectory()) walk(p);
        else if (f.endsWith('.data') && statSync(p).size === bytes.length) files.push(p);
      }
    };
    walk(join(w.env.kubo.repoPath, 'blocks'));
    const file = files.find((f) => readFileSync(f).equals(bytes));
    assert.ok(file, 'found the block file');
    const corrupted = Buffer.from(bytes);
    corrupted[corrupted.length - 40]! ^= 0xff;
    writeFileSync(file, corrupted);
    const r1 = await api(w.bridge.url, `/records/${a!.seq}`, token);
    assert.equal(r1.status, 409, JSON.stringify(r1.body));
    const issue1 = (r1.body.issue as { details: { coding: { system: string; code: string }[] } }[])[0]!;
    assert.deepEqual(issue1.details.coding[0], { system: TAMPER_SYSTEM, code: 'cid-mismatch' });

    // 2. Alter the outbox row: a different content hash, with the leaf hash recomputed to match it.
    const row = (await w.bridge.app.outbox.bySeq([b!.seq]))[0]!;
    const forgedHash = `0x${'ab'.repeat(32)}` as Hex;
    const forgedLeaf = leafHash({
      subject: row.subject as Hex,
      resourceType: row.resourceType,
      resourceId: row.resourceId,
      versionId: row.versionId,
      contentHash: forgedHash,
      payloadCid: row.cid!,
      salt: row.salt as Hex,
    });
    const db = new DatabaseSync(join(w.bridge.dir, 'outbox.db'));
    db.prepare('UPDATE records SET content_hash = ?, leaf = ? WHERE seq = ?').run(
      forgedHash,
      forgedLeaf,
      b!.seq,
    );
    db.close();
    const r2 = await api(w.bridge.url, `/records/${b!.seq}`, token);
    assert.equal(r2.status, 409);
    const issue2 = (r2.body.issue as { details: { coding: { system: string; code: string }[] } }[])[0]!;
    assert.equal(issue2.details.coding[0]!.code, 'content-changed');
  });

  it('erases a document once the hospital approves: 410 Gone, key material gone, the anchor still proves it existed', async () => {
    const patientToken = tokens.get('patient self');
    const { DEV_KEYS } = await import('@ehr-anchor/testkit');
    const hospitalToken = await signIn(w.bridge.url, new Wallet(DEV_KEYS.hospitalA));
    const doc = (await api(w.bridge.url, `/records/${documentSeq}`, patientToken))
      .body as unknown as RecordRead;
    const contentCid = (
      doc.resource as unknown as { content: { attachment: { url: string } }[] }
    ).content[0]!.attachment.url.slice('ipfs://'.length);
    const info = (await w.bridge.app.outbox.bySeq([documentSeq]))[0]!;
    assert.ok(w.bridge.app.read.store.docKey(info.resourceId), 'content key present before');
    assert.ok(await hasBlock(w.bridge.app.ipfs.client, info.cid!));

    const req = await api(w.bridge.url, `/patients/${w.subject}/erasure-requests`, patientToken, {
      method: 'POST',
      body: { seq: documentSeq },
    });
    assert.equal(req.status, 201);
    const id = req.body.id as number;
    assert.equal(
      (
        await api(w.bridge.url, `/erasure-requests/${id}/approve`, tokens.get('granted doctor'), {
          method: 'POST',
        })
      ).status,
      403,
      'a doctor cannot approve',
    );
    const pending = await api(w.bridge.url, '/erasure-requests?state=pending', hospitalToken);
    assert.ok((pending.body.items as { id: number }[]).some((i) => i.id === id));
    const approved = await api(w.bridge.url, `/erasure-requests/${id}/approve`, hospitalToken, {
      method: 'POST',
    });
    assert.equal(approved.status, 200, JSON.stringify(approved.body));
    assert.equal(approved.body.state, 'approved');

    assert.equal((await api(w.bridge.url, `/records/${documentSeq}`, patientToken)).status, 410);
    assert.equal((await api(w.bridge.url, `/documents/${documentSeq}/content`, patientToken)).status, 410);
    assert.equal(w.bridge.app.read.store.docKey(info.resourceId), undefined, 'wrapped content key deleted');
    assert.equal(
      await hasBlock(w.bridge.app.ipfs.client, info.cid!),
      false,
      'envelope block removed from Kubo',
    );
    assert.equal(
      await hasBlock(w.bridge.app.ipfs.client, contentCid),
      false,
      'content blocks removed from Kubo',
    );
    const batch = (await w.bridge.app.outbox.getBatch(info.batchId!))!;
    assert.equal(
      await w.bridge.app.read.chain.verifyLeaf(batch.root, info.leaf!, info.proof!),
      true,
      'the anchor still proves the record existed',
    );
    const listed = await api(w.bridge.url, `/patients/${w.subject}/records?category=documents`, patientToken);
    assert.ok(
      (listed.body.items as { seq: number; erased: boolean }[]).find((i) => i.seq === documentSeq)?.erased,
    );
  });

  it('documents every read route in /openapi.json', async () => {
    const doc = (await (await fetch(`${w.bridge.url}/openapi.json`)).json()) as {
      paths: Record<string, unknown>;
    };
    for (const path of [
      '/auth/nonce',
      '/auth/session',
      '/patients/{subject}/records',
      '/records/{seq}',
      '/records/{seq}/state',
      '/patients/_search',
      '/patients/{subject}/contact',
      '/documents',
      '/documents/{seq}/content',
      '/patients/{subject}/access-log',
      '/patients/{subject}/consents',
      '/patients/{subject}/erasure-requests',
      '/erasure-requests',
      '/erasure-requests/{id}/{decision}',
    ]) {
      assert.ok(doc.paths[path], `${path} in the OpenAPI document`);
    }
  });

  it('answers CORS preflights so the elements can call it from a portal origin (loopback by default)', async () => {
    const preflight = (origin: string) =>
      fetch(`${w.bridge.url}/records/1`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'GET',
          'access-control-request-headers': 'authorization',
        },
      });
    const res = await preflight('http://localhost:8080');
    assert.ok(res.status === 204 || res.status === 200);
    assert.equal(res.headers.get('access-control-allow-origin'), 'http://localhost:8080');
    assert.match(res.headers.get('access-control-allow-headers') ?? '', /authorization/);
    // The contact change is a PATCH: allowed from the portal's origin too.
    const patch = await fetch(`${w.bridge.url}/patients/${w.subject}/contact`, {
      method: 'OPTIONS',
      headers: {
        origin: 'http://localhost:8080',
        'access-control-request-method': 'PATCH',
        'access-control-request-headers': 'authorization,content-type',
      },
    });
    assert.match(patch.headers.get('access-control-allow-methods') ?? '', /PATCH/);
    // Any other origin only once configured (read.corsOrigins / read.siweDomains): test/security.test.ts.
    assert.equal(
      (await preflight('https://portal.example.org')).headers.get('access-control-allow-origin'),
      null,
    );
  });

  it('logged no patient data (PHI scan of every log line: 0 hits)', () => {
    const text = w.logs.text();
    assert.ok(text.length > 1000, 'the bridge did log');
    const hits = scanBytes(Buffer.from(text));
    assert.deepEqual(hits, []);
  });

  it('keeps no patient data in clear in the read store (blind index, access log, consent mirror, keys)', () => {
    const files = readdirSync(w.bridge.dir).filter((f) => f.startsWith('outbox.db.read.db'));
    assert.ok(files.length >= 1, 'the read store exists');
    for (const f of files) assert.deepEqual(scanBytes(readFileSync(join(w.bridge.dir, f))), [], f);
    // The index answers by keyed hashes only: the family name is searchable, yet nowhere in the file.
    assert.ok(w.bridge.app.read.index.search({ name: w.patient.name![0]!.family! }).includes(w.subject));
  });
});
