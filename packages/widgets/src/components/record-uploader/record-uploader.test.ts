import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import { setViewport } from '@web/test-runner-commands';
import type { Bundle } from 'fhir/r4';
import type { EhrDataSource } from '../../data/data-source.js';
import { xhrUpload } from '../../data/xhr-upload.js';
import { FixtureDataSource } from '../../testing/index.js';
import { loadSyntheaBundle } from '@ehr-anchor/testkit/browser-fixtures';
import { shadowQuery, until } from '../../../test/helpers.js';
import './record-uploader.js';
import type { RecordUploader } from './record-uploader.component.js';

let bundle: Bundle;
before(async () => {
  await setViewport({ width: 1400, height: 2000 });
  bundle = await loadSyntheaBundle('tiny-clemente-kreiger.json');
});

async function uploader(
  ds: EhrDataSource | undefined,
  patientId: string,
  attrs: { maxSize?: number } = {},
): Promise<RecordUploader> {
  return fixture<RecordUploader>(
    html`<record-uploader .dataSource=${ds} patient-id=${patientId} max-size=${attrs.maxSize ?? 1048576} poll-interval="20"></record-uploader>`,
  );
}

function choose(el: RecordUploader, file: File): void {
  const input = el.shadowRoot!.querySelector<HTMLInputElement>('input[type="file"]')!;
  const dt = new DataTransfer();
  dt.items.add(file);
  input.files = dt.files;
  input.dispatchEvent(new Event('change'));
}

function submit(el: RecordUploader, title = 'Discharge letter'): void {
  el.shadowRoot!.querySelector<HTMLInputElement>('input[name="title"]')!.value = title;
  el.shadowRoot!.querySelector<HTMLButtonElement>('button[type="submit"]')!.click();
}

describe('<record-uploader>', () => {
  it('says what to do without a data source', async () => {
    const el = await uploader(undefined, 'x');
    expect(el.shadowRoot!.textContent).to.contain('No data source');
    await expect(el).to.be.accessible();
  });

  it('renders an accessible form', async () => {
    const ds = await FixtureDataSource.create({ bundle });
    const el = await uploader(ds, ds.patientId);
    await expect(el).to.be.accessible();
  });

  it('refuses a too large file and a wrong type before uploading', async () => {
    const ds = await FixtureDataSource.create({ bundle });
    const el = await uploader(ds, ds.patientId, { maxSize: 1000 });
    choose(el, new File([new Uint8Array(5000)], 'big.pdf', { type: 'application/pdf' }));
    await until(
      () => el.shadowRoot!.querySelector('[role="alert"]')!.textContent!.includes('larger than'),
      'size error',
    );
    choose(el, new File(['<html></html>'], 'page.html', { type: 'text/html' }));
    await until(
      () => el.shadowRoot!.querySelector('[role="alert"]')!.textContent!.includes('not accepted'),
      'type error',
    );
    submit(el);
    await el.updateComplete;
    expect(ds.calls.some((c) => c.method === 'upload')).to.equal(false);
    await expect(el).to.be.accessible();
  });

  it('asks for missing fields', async () => {
    const ds = await FixtureDataSource.create({ bundle });
    const el = await uploader(ds, ds.patientId);
    submit(el, '');
    await until(
      () => el.shadowRoot!.querySelector('[role="alert"]')!.textContent!.includes('Title is required'),
      'missing title',
    );
  });

  it('accepts a dropped file', async () => {
    const ds = await FixtureDataSource.create({ bundle });
    const el = await uploader(ds, ds.patientId);
    const dt = new DataTransfer();
    dt.items.add(new File(['hello'], 'note.txt', { type: 'text/plain' }));
    const changed = oneEvent(el, 'change');
    el.shadowRoot!.querySelector('[part="dropzone"]')!.dispatchEvent(
      new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }),
    );
    await changed;
    await until(
      () => el.shadowRoot!.querySelector('#file-help')!.textContent!.includes('note.txt'),
      'file shown',
    );
  });

  it('shows progress, then follows the record from stored on IPFS to anchored with CID and transaction', async () => {
    const ds = await FixtureDataSource.create({ bundle, uploadChunk: 4096 });
    const el = await uploader(ds, ds.patientId);
    const seen: number[] = [];
    const observer = new MutationObserver(() => {
      const bar = el.shadowRoot!.querySelector('progress');
      if (bar) seen.push(bar.value);
    });
    observer.observe(el.shadowRoot!, {
      subtree: true,
      childList: true,
      attributes: true,
      characterData: true,
    });
    choose(el, new File([new Uint8Array(64 * 1024).fill(65)], 'scan.png', { type: 'image/png' }));
    const stored = oneEvent(el, 'ehr-upload-stored');
    submit(el);
    const storedEvent = await stored;
    observer.disconnect();
    expect(storedEvent.detail.cid).to.be.a('string').and.not.equal('');
    expect(new Set(seen).size, 'several distinct progress values').to.be.greaterThan(1);
    const result = await shadowQuery(el, '[part="result"][data-state="stored"]', 'result');
    expect(result.textContent).to.contain('Stored on IPFS');
    expect(result.textContent).to.contain(storedEvent.detail.cid!);
    await expect(el).to.be.accessible();
    const anchored = oneEvent(el, 'ehr-upload-anchored');
    await ds.anchorPending();
    const anchoredEvent = await anchored;
    await until(() => el.shadowRoot!.querySelector('[part="result"][data-state="anchored"]'), 'anchored');
    expect(el.shadowRoot!.querySelector('[part="result"]')!.textContent).to.contain(
      anchoredEvent.detail.txHash!,
    );
    const record = await ds.getRecord(ds.patientId, anchoredEvent.detail.recordKey);
    expect(record.summary.state).to.equal('anchored');
    expect(record.resource.resourceType).to.equal('DocumentReference');
  });

  it('reports real XMLHttpRequest upload progress against an HTTP server', async () => {
    const progress: number[] = [];
    const form = new FormData();
    form.append('file', new File([new Uint8Array(8 * 1024 * 1024)], 'big.bin'));
    const res = await xhrUpload('/__upload-sink', form, {
      onProgress: (p) => progress.push(p.loaded / p.total),
    });
    expect(res.status).to.equal(201);
    expect((JSON.parse(res.body) as { bytes: number }).bytes).to.be.greaterThan(8 * 1024 * 1024);
    expect(progress.at(-1)).to.equal(1);
    expect(progress.length).to.be.greaterThan(0);
  });
});
