/**
 * Documents over real HTTP: the chunked envelope's tamper rules, download headers (nosniff, CSP
 * sandbox, attachment unless safe-inline), the upload size limit, a tampered content block, and a
 * 200 MB upload + download whose resident memory stays flat (streaming, not buffering).
 *
 * The 200 MB run takes a while on a busy 2-core machine; set EHR_BIG_DOCUMENT=0 to skip it.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { scanBytes, waitFor } from '@ehr-anchor/testkit';
import { CID } from 'multiformats/cid';
import { chunkedSize, decryptChunked, encryptChunked } from '../src/read/chunked.js';
import { push } from './helpers.js';
import { api, signIn, startReadWorld, upload, type ReadWorld } from './read-harness.js';

async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of source) parts.push(Buffer.from(p));
  return Buffer.concat(parts);
}
async function* once(...parts: Uint8Array[]) {
  yield* parts;
}

describe('chunked envelope (ehr-anchor-chunked/v1)', () => {
  const key = new Uint8Array(randomBytes(32));
  const plain = randomBytes(10_000);
  const sealed = async (chunk = 1000) => collect(encryptChunked(once(plain), key, 'doc-1', chunk));

  it('round-trips any size, including empty and exact multiples of the chunk size', async () => {
    for (const size of [0, 1, 999, 1000, 1001, 5000]) {
      const p = plain.subarray(0, size);
      const c = await collect(encryptChunked(once(p), key, 'doc-1', 1000));
      assert.equal(c.length, chunkedSize(size, 1000));
      assert.deepEqual(await collect(decryptChunked(once(c), key, 'doc-1')), Buffer.from(p));
    }
  });

  it('refuses a flipped bit, a dropped or swapped chunk, a truncated stream, trailing bytes and another document id', async () => {
    const c = await sealed();
    const frame = 1016;
    const fails = async (bytes: Buffer, aad = 'doc-1') =>
      assert.rejects(collect(decryptChunked(once(bytes), key, aad)));
    const flipped = Buffer.from(c);
    flipped[500]! ^= 1;
    await fails(flipped);
    await fails(Buffer.concat([c.subarray(0, 17), c.subarray(17 + frame)])); // first chunk dropped
    await fails(
      Buffer.concat([
        c.subarray(0, 17),
        c.subarray(17 + frame, 17 + 2 * frame),
        c.subarray(17, 17 + frame),
        c.subarray(17 + 2 * frame),
      ]),
    );
    await fails(c.subarray(0, 17 + 3 * frame)); // truncated at a chunk boundary: no final chunk
    await fails(Buffer.concat([c, Buffer.alloc(16)]));
    await fails(c, 'doc-2');
  });
});

describe('documents over HTTP (real bridge, anvil, Kubo)', () => {
  let w: ReadWorld;
  let doctor: string;
  let patient: string;

  before(async () => {
    w = await startReadWorld({ read: { uploadLimit: 300 * 1024 * 1024 } });
    doctor = await signIn(w.bridge.url, w.wallets['granted doctor']);
    patient = await signIn(w.bridge.url, w.wallets['patient self']);
  });
  after(async () => {
    await w?.stop();
  });

  /** Uploads answer before the pipeline stored the DocumentReference; reads wait for that. */
  const stored = (seq: number) =>
    waitFor(async () => ((await w.bridge.app.outbox.bySeq([seq]))[0]?.state ?? 'received') !== 'received', {
      what: 'document stored',
      timeoutMs: 60_000,
    });

  const fields = () => ({
    subject: w.subject,
    title: 'Scan',
    date: '2026-11-02',
    category: 'imaging report',
  });

  it('serves HTML as an attachment and images inline, always with nosniff and a sandbox CSP', async () => {
    const html = await upload(
      w.bridge.url,
      doctor,
      fields(),
      new Blob(['<script>parent.pwned=1</script>'], { type: 'text/html' }),
      'x.html',
    );
    assert.equal(html.status, 201);
    const png = await upload(
      w.bridge.url,
      doctor,
      fields(),
      new Blob([randomBytes(64)], { type: 'image/png' }),
      'x.png',
    );
    await stored(html.body.seq as number);
    await stored(png.body.seq as number);
    const r1 = await api(w.bridge.url, `/documents/${html.body.seq as number}/content`, patient);
    assert.equal(r1.status, 200);
    assert.equal(r1.headers.get('content-type'), 'text/html');
    assert.match(r1.headers.get('content-disposition')!, /^attachment;/);
    assert.equal(r1.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(r1.headers.get('content-security-policy'), 'sandbox');
    const r2 = await api(w.bridge.url, `/documents/${png.body.seq as number}/content`, patient);
    assert.match(r2.headers.get('content-disposition')!, /^inline;/);
    assert.equal(r2.headers.get('content-security-policy'), 'sandbox');
    // The DocumentReference is anchored like any record.
    await waitFor(
      async () => (await w.bridge.app.outbox.bySeq([png.body.seq as number]))[0]?.state === 'anchored',
      { what: 'anchored', timeoutMs: 60_000 },
    );
  });

  it("serves inline content of DocumentReferences pushed by the hospital's FHIR server", async () => {
    const note = 'Clinical note: follow-up in two weeks.';
    const doc = {
      resourceType: 'DocumentReference',
      id: 'note-inline-1',
      meta: { versionId: '1' },
      status: 'current',
      subject: { reference: `Patient/${w.patient.id}` },
      content: [{ attachment: { contentType: 'text/plain', data: Buffer.from(note).toString('base64') } }],
    };
    const pushed = await push(w.bridge.url, '/fhir/DocumentReference', doc);
    assert.equal(pushed.status, 202);
    const [version] = await w.bridge.app.outbox.versions('DocumentReference', 'note-inline-1');
    await stored(version!.seq);
    const r = await api(w.bridge.url, `/documents/${version!.seq}/content`, patient);
    assert.equal(r.status, 200);
    assert.equal((r.body as unknown as Buffer).toString('utf8'), note);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
  });

  it('refuses uploads without a documents grant (403) and without a session (401)', async () => {
    const stranger = await signIn(w.bridge.url, w.wallets.stranger);
    const blob = new Blob(['x'], { type: 'text/plain' });
    assert.equal((await upload(w.bridge.url, stranger, fields(), blob)).status, 403);
    const form = new FormData();
    for (const [k, v] of Object.entries(fields())) form.append(k, v);
    form.append('file', blob, 'x.txt');
    assert.equal((await fetch(`${w.bridge.url}/documents`, { method: 'POST', body: form })).status, 401);
  });

  it('says so explicitly when a content block on IPFS was altered', async () => {
    const text = 'lab letter '.repeat(50);
    const up = await upload(w.bridge.url, doctor, fields(), new Blob([text], { type: 'text/plain' }));
    await stored(up.body.seq as number);
    const cid = CID.parse(up.body.contentCid as string);
    const bytes = await collect(w.bridge.app.ipfs.client.cat(cid));
    const dir = join(w.env.kubo.repoPath, 'blocks');
    const files: string[] = [];
    const walk = (d: string) => {
      for (const f of readdirSync(d)) {
        const p = join(d, f);
        if (statSync(p).isDirectory()) walk(p);
        else if (statSync(p).size === bytes.length && readFileSync(p).equals(bytes)) files.push(p);
      }
    };
    walk(dir);
    assert.equal(files.length, 1);
    const bad = Buffer.from(bytes);
    bad[bad.length - 20]! ^= 0x01;
    writeFileSync(files[0]!, bad);
    const r = await api(w.bridge.url, `/documents/${up.body.seq as number}/content`, patient);
    assert.equal(r.status, 409);
    assert.equal(
      (r.body.issue as { details: { coding: { code: string }[] } }[])[0]!.details.coding[0]!.code,
      'cid-mismatch',
    );
  });

  it('refuses a file over the upload limit with 413 and keeps nothing', { skip: false }, async () => {
    const small = await startReadWorld({ read: { uploadLimit: 64 * 1024 } });
    try {
      const token = await signIn(small.bridge.url, small.wallets['granted doctor']);
      const before = await small.bridge.app.outbox.counts();
      const r = await upload(
        small.bridge.url,
        token,
        { ...fields(), subject: small.subject },
        new Blob([randomBytes(200 * 1024)]),
      );
      assert.equal(r.status, 413);
      assert.equal(r.body.resourceType, 'OperationOutcome');
      const afterCounts = await small.bridge.app.outbox.counts();
      const docs =
        Object.values(afterCounts.records).reduce((a, b) => a + b, 0) -
        Object.values(before.records).reduce((a, b) => a + b, 0);
      assert.equal(docs, 1, 'only the refusal AuditEvent was queued, no DocumentReference');
    } finally {
      await small.stop();
    }
  });

  it(
    'streams a 200 MB upload and download with flat memory',
    { skip: process.env.EHR_BIG_DOCUMENT === '0' },
    async () => {
      const SIZE = 200 * 1024 * 1024;
      // A ring of reused 1 MiB buffers: the client allocates nothing per chunk, so the RSS measured in
      // this process (client + bridge) shows the bridge's memory, not the client's garbage.
      const ring = Array.from({ length: 8 }, () => randomBytes(1024 * 1024));
      const boundary = `----ehr${randomBytes(8).toString('hex')}`;
      const head = Object.entries(fields())
        .map(([k, v]) => `--${boundary}\r\ncontent-disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`)
        .join('');
      const fileHead = `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="big.bin"\r\ncontent-type: application/octet-stream\r\n\r\n`;
      const tail = `\r\n--${boundary}--\r\n`;
      const sent = createHash('sha256');
      let produced = 0;
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(Buffer.from(head + fileHead));
        },
        pull(controller) {
          if (produced >= SIZE) {
            controller.enqueue(Buffer.from(tail));
            controller.close();
            return;
          }
          // A different 1 MiB each time (counter in the first bytes), so nothing dedupes.
          const n = produced / (1024 * 1024);
          const chunk = ring[n % ring.length]!;
          chunk.writeUInt32BE(n, 0);
          sent.update(chunk);
          produced += chunk.length;
          controller.enqueue(chunk);
        },
      });

      // Collect garbage before every sample, so the peak shows what is held (buffering, the thing this
      // checks) rather than how lazily V8 frees the 1 MiB chunks that stream through. `gc` without
      // --expose-gc: the flag can be set at run time and read from a fresh context.
      // Two measures: live memory (V8 heap in use + Buffers/ArrayBuffers outside it), which is what
      // buffering the file would fill, and RSS, which also holds memory malloc has freed but not yet
      // returned to the system (one CI run saw RSS +139 MB on download with nothing held).
      setFlagsFromString('--expose-gc');
      const gc = runInNewContext('gc') as () => void;
      const sample = () => {
        gc();
        const m = process.memoryUsage();
        return { live: m.heapUsed + m.external, rss: m.rss };
      };
      let baseline = sample();
      let peak = { ...baseline };
      const sampler = setInterval(() => {
        const m = sample();
        peak = { live: Math.max(peak.live, m.live), rss: Math.max(peak.rss, m.rss) };
      }, 50);
      const t0 = performance.now();
      const res = await fetch(`${w.bridge.url}/documents`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${doctor}`,
          'content-type': `multipart/form-data; boundary=${boundary}`,
        },
        body,
        duplex: 'half',
      } as RequestInit);
      const receipt = (await res.json()) as { seq: number; size: number };
      const uploadMs = performance.now() - t0;
      const up = { baseline, peak };
      assert.equal(res.status, 201, JSON.stringify(receipt));
      assert.equal(receipt.size, SIZE);
      await stored(receipt.seq);

      baseline = sample();
      peak = { ...baseline };
      const t1 = performance.now();
      const res2 = await fetch(`${w.bridge.url}/documents/${receipt.seq}/content`, {
        headers: { authorization: `Bearer ${patient}` },
      });
      assert.equal(res2.status, 200);
      assert.equal(res2.headers.get('content-length'), String(SIZE));
      const got = createHash('sha256');
      let received = 0;
      for await (const chunk of res2.body as unknown as AsyncIterable<Uint8Array>) {
        got.update(chunk);
        received += chunk.length;
      }
      const downloadMs = performance.now() - t1;
      clearInterval(sampler);
      const down = { baseline, peak };
      const mb = (n: number) => (n / 1024 / 1024).toFixed(1);
      const line = (name: string, ms: number, m: typeof up) =>
        `  ${name} ${(ms / 1000).toFixed(1)} s, live ${mb(m.baseline.live)} → peak ${mb(m.peak.live)} MB (+${mb(m.peak.live - m.baseline.live)} MB), ` +
        `RSS ${mb(m.baseline.rss)} → peak ${mb(m.peak.rss)} MB (+${mb(m.peak.rss - m.baseline.rss)} MB)`;
      console.log(
        `200 MB document (bridge and client in this process; Kubo separate):\n` +
          `${line('upload:  ', uploadMs, up)}\n${line('download:', downloadMs, down)}`,
      );
      assert.equal(received, SIZE);
      assert.equal(got.digest('hex'), sent.digest('hex'), 'the same bytes came back');
      // Flat: what is held stays far below the file size (buffering would hold ≥ 200 MB, twice over
      // with encryption); RSS, noisier, must at least stay below the file size.
      for (const [name, m] of [
        ['upload', up],
        ['download', down],
      ] as const) {
        assert.ok(
          m.peak.live - m.baseline.live < 48 * 1024 * 1024,
          `${name} held ${mb(m.peak.live - m.baseline.live)} MB more`,
        );
        assert.ok(
          m.peak.rss - m.baseline.rss < SIZE,
          `${name} grew RSS by ${mb(m.peak.rss - m.baseline.rss)} MB`,
        );
      }
    },
  );

  it('logged no patient data (PHI scan: 0 hits)', async () => {
    assert.deepEqual(scanBytes(Buffer.from(w.logs.text())), []);
  });
});
