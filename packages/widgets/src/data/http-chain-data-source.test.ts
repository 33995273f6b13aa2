import { expect, fixture, html } from '@open-wc/testing';
import { setViewport } from '@web/test-runner-commands';
import { HttpChainDataSource } from './http-chain-data-source.js';
import { BridgeTamperError, DataSourceError } from '../testing/index.js';
import { until } from '../../test/helpers.js';
import '../components/ehr-viewer/ehr-viewer.js';
import type { EhrViewer } from '../components/ehr-viewer/ehr-viewer.component.js';

/*
 * Injected fault: /__tampering-bridge/ (web-test-runner.config.mjs) answers like the real bridge
 * does for records that fail its checks: 409 with the reason in `details.coding`
 * (`urn:ehr-anchor:tamper`). Seq 2 is `content-changed`, seq 3 `cid-mismatch`.
 */
const SUBJECT = `0x${'5a'.repeat(32)}`;

function source(): HttpChainDataSource {
  // The chain is never asked: a record the bridge refuses has nothing to check against it.
  return new HttpChainDataSource({
    bridgeUrl: '/__tampering-bridge',
    rpcUrl: 'http://127.0.0.1:9',
    chainId: 1337,
    contractAddress: `0x${'00'.repeat(20)}`,
  });
}

function badgeOf(root: ParentNode | null | undefined): HTMLElement | null | undefined {
  return root?.querySelector<HTMLElement>('[part="badge"]');
}

describe('HttpChainDataSource: a record the bridge reports tampered (HTTP 409)', () => {
  before(() => setViewport({ width: 1400, height: 2400 }));

  it('returns the record as bridge-reported tampered, with the reason, not as an error', async () => {
    const ds = source();
    await ds.listRecords(SUBJECT);
    const detail = await ds.getRecord(SUBJECT, '2');
    expect(detail.bridgeTamperReason).to.equal('content-changed');
    expect(detail.bridgeIntegrityError).to.contain('content-changed');
    expect(detail.summary).to.include({ key: '2', resourceType: 'Immunization', category: 'immunizations' });
  });

  it('names the record from its pipeline state when it was not listed first', async () => {
    const detail = await source().getRecord(SUBJECT, '3');
    expect(detail.bridgeTamperReason).to.equal('cid-mismatch');
    expect(detail.summary.resourceType).to.equal('Immunization');
  });

  it('follows an upload by its pipeline state only (GET /records/{seq}/state), never reading the record', async () => {
    // The record itself would be refused (409); its state is served without decrypting anything.
    expect(await source().uploadStatus('3')).to.deep.equal({
      recordKey: '3',
      state: 'anchored',
      cid: 'bafy-stored',
    });
  });

  it('exports the typed errors from @ehr-anchor/widgets/testing', () => {
    const error = new BridgeTamperError('cid-mismatch', 'x');
    expect(error).to.be.instanceOf(DataSourceError);
    expect(error.kind).to.equal('invalid');
  });

  it('<ehr-viewer> shows each row and the detail as Tampered with the bridge reason, never Unknown', async () => {
    const el = await fixture<EhrViewer>(
      html`<ehr-viewer .dataSource=${source()} patient-id=${SUBJECT} mode="patient"></ehr-viewer>`,
    );
    const rows = (): HTMLButtonElement[] => [
      ...el.shadowRoot!.querySelectorAll<HTMLButtonElement>('[part="record"]'),
    ];
    await until(() => rows().length === 2, 'two rows');
    await until(
      () => rows().every((r) => badgeOf(r)?.dataset.state === 'tampered'),
      'tampered badges on the rows',
    );
    expect(rows().map((r) => badgeOf(r)!.dataset.state)).to.deep.equal(['tampered', 'tampered']);
    expect(el.shadowRoot!.querySelectorAll('[part="badge"][data-state="unknown"]').length).to.equal(0);
    // content-changed is one of core's reasons; cid-mismatch is the bridge's "stored bytes inconsistent".
    const labels = rows().map((r) => badgeOf(r)!.textContent!.trim());
    expect(labels).to.have.members([
      'Tampered: content changed since anchoring',
      'Tampered: stored bytes inconsistent',
    ]);

    rows()[0]!.click();
    await until(
      () => badgeOf(el.shadowRoot!.querySelector('[part="detail"]'))?.dataset.state === 'tampered',
      'tampered detail',
    );
    const alert = el.shadowRoot!.querySelector('[part="detail"] [role="alert"]')!;
    expect(alert.textContent).to.contain('Tampered');
    expect(alert.textContent).to.match(/cid-mismatch|content-changed/);
    await expect(el).to.be.accessible();
  });
});
