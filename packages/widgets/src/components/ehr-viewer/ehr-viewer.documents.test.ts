import { expect, fixture, html } from '@open-wc/testing';
import { setViewport } from '@web/test-runner-commands';
import type { Bundle, DocumentReference, FhirResource } from 'fhir/r4';
import { bytesToBase64 } from '../../fhir/attachment.js';
import { FixtureDataSource, bundleResources } from '../../testing/index.js';
import { loadSyntheaBundle } from '@ehr-anchor/testkit/browser-fixtures';
import { shadowQuery, until } from '../../../test/helpers.js';
import './ehr-viewer.js';
import type { EhrViewer } from './ehr-viewer.component.js';

/** A one-page PDF ("Hello"), small enough to inline. */
const PDF = `%PDF-1.4
1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj
2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj
3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 300 144]/Contents 4 0 R/Resources<</Font<</F1 5 0 R>>>>>>endobj
4 0 obj<</Length 40>>stream
BT /F1 24 Tf 30 70 Td (Hello) Tj ET
endstream endobj
5 0 obj<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>endobj
trailer<</Root 1 0 R>>
%%EOF`;

function doc(
  id: string,
  description: string,
  title: string,
  payload: string,
  date: string,
): DocumentReference {
  return {
    resourceType: 'DocumentReference',
    id,
    status: 'current',
    subject: { reference: 'Patient/x' },
    date,
    description,
    content: [
      {
        attachment: {
          contentType: 'application/pdf',
          title,
          data: bytesToBase64(new TextEncoder().encode(payload)),
        },
      },
    ],
  };
}

let tiny: Bundle;
before(async () => {
  await setViewport({ width: 1280, height: 1400 });
  tiny = await loadSyntheaBundle('tiny-clemente-kreiger.json');
});

async function documentsViewer(extra: FhirResource[]): Promise<{ el: EhrViewer; ds: FixtureDataSource }> {
  const patient = bundleResources(tiny).find((r) => r.resourceType === 'Patient')!;
  const ds = await FixtureDataSource.create({ resources: [patient, ...extra] });
  const el = await fixture<EhrViewer>(
    html`<ehr-viewer .dataSource=${ds} patient-id=${ds.patientId} mode="patient"></ehr-viewer>`,
  );
  await shadowQuery(el, '[part="record"]', 'rows');
  return { el, ds };
}

const rows = (el: EhrViewer) => [...el.shadowRoot!.querySelectorAll<HTMLElement>('[part="record"]')];

describe('<ehr-viewer> documents', () => {
  it('names each document in its row (two uploads the same day are told apart), newest first', async () => {
    const { el } = await documentsViewer([
      doc('d1', 'Discharge letter', 'letter', PDF, '2026-12-03T09:00:00Z'),
      doc('d2', 'Large scanned report (6 MB)', 'scan', PDF, '2026-12-03T10:00:00Z'),
    ]);
    await until(() => rows(el).length === 2, 'both documents');
    expect(rows(el).map((r) => r.querySelector('.what')!.textContent!.trim())).to.deep.equal([
      'Large scanned report (6 MB)',
      'Discharge letter',
    ]);
  });

  it('offers a verified PDF for download as "<title>.pdf" and previews it in the browser\'s PDF viewer; a "PDF" that is not one is only downloadable', async () => {
    const { el, ds } = await documentsViewer([
      doc('pdf', 'Scan', 'Large scanned report (6 MB)', PDF, '2026-12-03T10:00:00Z'),
      doc(
        'fake',
        'Not a PDF',
        'fake',
        '<html><script>window.__ehrXss="pdf"</script></html>',
        '2026-12-02T10:00:00Z',
      ),
    ]);
    el.openRecord(ds.keys().find((k) => k.startsWith('DocumentReference/pdf/'))!);
    const fig = await shadowQuery(el, '[part="attachment"]', 'the verified attachment');
    const link = fig.querySelector<HTMLAnchorElement>('a[download]')!;
    expect(link.getAttribute('download')).to.equal('Large scanned report (6 MB).pdf');
    const downloaded = new Uint8Array(await (await fetch(link.href)).arrayBuffer());
    expect(new TextDecoder().decode(downloaded), 'the download is the document').to.equal(PDF);
    const frame = fig.querySelector<HTMLIFrameElement>('iframe[part="pdf-preview"]')!;
    expect(frame, 'a preview frame').to.not.equal(null);
    const preview = await fetch(frame.src);
    expect(preview.headers.get('content-type'), 'typed as PDF for the PDF viewer').to.equal(
      'application/pdf',
    );
    expect(frame.title).to.contain('Large scanned report (6 MB)');

    el.openRecord(ds.keys().find((k) => k.startsWith('DocumentReference/fake/'))!);
    await until(
      () => el.shadowRoot!.querySelector('[part="attachment"] a[download="fake.pdf"]'),
      'the fake PDF, downloadable',
    );
    expect(el.shadowRoot!.querySelector('[part="attachment"] iframe'), 'no preview').to.equal(null);
    expect((window as { __ehrXss?: string }).__ehrXss).to.equal(undefined);
    await expect(el).to.be.accessible();
  });

  it('shows no preview or download before the document verifies', async () => {
    const { el, ds } = await documentsViewer([
      doc('t', 'Tampered scan', 'scan', PDF, '2026-12-03T10:00:00Z'),
    ]);
    const key = ds.keys().find((k) => k.startsWith('DocumentReference/t/'))!;
    ds.tamper(key, (r) => ((r as DocumentReference).description = 'changed'));
    el.openRecord(key);
    await until(
      () => el.shadowRoot!.querySelector('[part="detail"] [part="badge"][data-state="tampered"]'),
      'tampered',
    );
    expect(el.shadowRoot!.querySelector('[part="attachment"]')).to.equal(null);
  });
});
