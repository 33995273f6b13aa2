import { expect, fixture, html } from '@open-wc/testing';
import { setViewport } from '@web/test-runner-commands';
import type { Bundle } from 'fhir/r4';
import type { LitElement } from 'lit';
import { brokenWords, horizontalOverflow } from '@ehr-anchor/testkit/layout';
import { loadSyntheaBundle } from '@ehr-anchor/testkit/browser-fixtures';
import { FIXTURE_ACCOUNTS, FixtureDataSource } from '../testing/index.js';
import { FixtureEntries } from '../components/clinical-entry/clinical-entry.fixture.js';
import { shadowQuery, until } from '../../test/helpers.js';
import '../components/consent-manager/consent-manager.js';
import '../components/ehr-admin/ehr-admin.js';
import '../components/record-uploader/record-uploader.js';
import '../components/clinical-entry/clinical-entry.js';

let bundle: Bundle;
before(async () => {
  bundle = await loadSyntheaBundle('tiny-clemente-kreiger.json');
});
after(() => setViewport({ width: 1400, height: 2400 }));

/** Each element in the state a person meets first, with its tables and forms filled. */
const screens: Array<{ name: string; ready: string; mount: () => Promise<LitElement> }> = [
  {
    name: '<consent-manager> with a grant and the access log',
    ready: '[part="grants"]',
    mount: async () => {
      const ds = await FixtureDataSource.create({ bundle });
      await (
        await ds.grant(ds.patientId, {
          grantee: FIXTURE_ACCOUNTS.doctor,
          granteeKind: 'doctor',
          scope: ['observations', 'conditions'],
          expiresAt: 0,
        })
      ).wait();
      return fixture(html`<consent-manager .dataSource=${ds} patient-id=${ds.patientId}></consent-manager>`);
    },
  },
  {
    name: "<ehr-admin> network admin's hospitals",
    ready: '[part="hospitals"]',
    mount: async () =>
      fixture(
        html`<ehr-admin .dataSource=${await FixtureDataSource.create({ bundle })} view="network"></ehr-admin>`,
      ),
  },
  {
    name: "<ehr-admin> a hospital's doctors and registrations",
    ready: '[part="registrations"]',
    mount: async () =>
      fixture(
        html`<ehr-admin .dataSource=${await FixtureDataSource.create({ bundle })} view="hospital" hospital=${FIXTURE_ACCOUNTS.hospital}></ehr-admin>`,
      ),
  },
  {
    name: '<record-uploader>',
    ready: 'form',
    mount: async () => {
      const ds = await FixtureDataSource.create({ bundle });
      return fixture(html`<record-uploader .dataSource=${ds} patient-id=${ds.patientId}></record-uploader>`);
    },
  },
  {
    name: '<clinical-entry>',
    ready: 'form',
    mount: async () => {
      const ds = await FixtureDataSource.create({ bundle });
      const entries = new FixtureEntries(ds, ds.patientId);
      return fixture(
        html`<clinical-entry .dataSource=${entries.source} patient-id=${ds.patientId}></clinical-entry>`,
      );
    },
  },
];

describe('every element fits its width: nothing overflows sideways, no word broken in headers and buttons', () => {
  for (const width of [1280, 390])
    for (const screen of screens)
      it(`${screen.name} at ${width} px`, async () => {
        await setViewport({ width, height: 1200 });
        const el = await screen.mount();
        await shadowQuery(el, screen.ready, screen.ready);
        await until(
          () => !el.shadowRoot!.querySelector('[role="status"]')?.textContent?.includes('Loading'),
          'loaded',
        );
        expect(horizontalOverflow(el), 'elements wider than their box').to.deep.equal([]);
        expect(brokenWords(el), 'headers and buttons broken inside a word').to.deep.equal([]);
      });
});
