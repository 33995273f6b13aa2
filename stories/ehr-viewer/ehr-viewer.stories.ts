import type { Meta, StoryObj } from '@storybook/web-components-vite';
import type { FixtureDataSource } from '@ehr-anchor/widgets/testing';
import '@ehr-anchor/widgets/ehr-viewer.js';
import {
  emptyFixture,
  failing,
  fixture,
  stalled,
  twoHospitals,
  withDocument,
} from '../support/data-sources.js';
import { allInShadow, inShadow, mount, shadowText, storyElement, until } from '../support/render.js';

interface Loaded {
  ds?: FixtureDataSource;
  patientId?: string;
  mode?: 'patient' | 'doctor';
}

/**
 * A patient's record with per-record verification badges computed in the browser: every story is
 * fed by a Synthea fixture through the widgets' fixture data source (real leaves, a real Merkle
 * tree, an in-memory "chain" of anchored roots), and each play function waits for what a person
 * would see in that state.
 */
const meta: Meta = {
  title: 'Elements/ehr-viewer',
  component: 'ehr-viewer',
  render: (args, context) => {
    const { ds, patientId, mode } = context.loaded as Loaded;
    return mount('ehr-viewer', args, context, (el) => {
      if (ds) el.dataSource = ds;
      el.patientId = patientId ?? ds?.patientId ?? '';
      if (mode) el.mode = mode;
    });
  },
};
export default meta;

type Story = StoryObj;

const viewer = (canvasElement: HTMLElement) => storyElement(canvasElement, 'ehr-viewer');
const rowBadge = (el: Element, state: string) =>
  inShadow(el, `[part="record"] [part="badge"][data-state="${state}"]`);

/** Opens a timeline row (the detail panel then verifies the record again and shows its proof). */
async function open(el: Element, row: Element): Promise<void> {
  row.closest<HTMLButtonElement>('[part="record"]')!.click();
  await until('the detail panel', () =>
    inShadow(el, '[part="detail"] .detail-head [part="badge"]:not([data-state="checking"])'),
  );
}

export const Verified: Story = {
  loaders: [async () => ({ ds: await fixture() })],
  play: async ({ canvasElement }) => {
    const el = viewer(canvasElement);
    const badge = await until('a verified badge in the timeline', () => rowBadge(el, 'verified'));
    await open(el, badge);
    await until('the detail marked verified', () =>
      inShadow(el, '[part="detail"] [part="badge"][data-state="verified"]'),
    );
  },
};

export const TwoHospitals: Story = {
  name: 'Two hospitals (one merged timeline)',
  loaders: [async () => ({ ds: twoHospitals(await fixture()) })],
  play: async ({ canvasElement }) => {
    const el = viewer(canvasElement);
    for (const name of ['Riverside General', 'Hillcrest Clinic'])
      await until(`a row from ${name}`, () =>
        allInShadow(el, '[part="record"] [part="origin"]').some((o) => o.textContent === `From ${name}`),
      );
    await until('a verified badge in the timeline', () => rowBadge(el, 'verified'));
  },
};

export const HospitalUnavailable: Story = {
  name: 'Two hospitals, one unavailable',
  loaders: [async () => ({ ds: twoHospitals(await fixture(), { unavailable: true }) })],
  play: async ({ canvasElement }) => {
    const el = viewer(canvasElement);
    await until('the unavailable hospital named above the list', () =>
      inShadow(el, '[part="hospital-states"] [data-state="unavailable"]')?.textContent?.includes(
        'Hillcrest Clinic is unavailable',
      ),
    );
    await until('the other hospital’s records, verified', () => rowBadge(el, 'verified'));
  },
};

export const Loading: Story = {
  loaders: [async () => ({ ds: stalled(await fixture()) })],
  play: async ({ canvasElement }) => {
    const el = viewer(canvasElement);
    await until('the loading status', () => shadowText(el).includes('Loading records…'));
  },
};

export const Empty: Story = {
  loaders: [async () => ({ ds: await emptyFixture() })],
  play: async ({ canvasElement }) => {
    const el = viewer(canvasElement);
    await until('the empty status', () => shadowText(el).includes('No records'));
  },
};

export const ErrorState: Story = {
  name: 'Error (bridge unreachable)',
  loaders: [
    async () => ({ ds: failing(await fixture(), 'network', 'fetch failed', ['getPatient', 'listRecords']) }),
  ],
  play: async ({ canvasElement }) => {
    const el = viewer(canvasElement);
    await until('an error that says what to do', () =>
      allInShadow(el, '[role="alert"]').some((a) => a.textContent!.includes('could not be reached')),
    );
  },
};

export const Pending: Story = {
  name: 'Pending (not anchored yet)',
  loaders: [async () => ({ ds: await fixture('tiny-clemente-kreiger.json', { pending: 6 }) })],
  play: async ({ canvasElement }) => {
    const el = viewer(canvasElement);
    const badge = await until('a pending badge', () => rowBadge(el, 'pending'));
    await open(el, badge);
    await until('the detail marked pending', () =>
      inShadow(el, '[part="detail"] [part="badge"][data-state="pending"]'),
    );
  },
};

export const Tampered: Story = {
  name: 'Tampered (content changed after anchoring)',
  loaders: [
    async () => {
      const ds = await fixture();
      // Injected fault: the served resource no longer matches the anchored content hash.
      ds.tamper(ds.keys()[0]!, (resource) => {
        (resource as { status?: string }).status = 'entered-in-error';
      });
      return { ds };
    },
  ],
  play: async ({ canvasElement }) => {
    const el = viewer(canvasElement);
    const badge = await until('a tampered badge', () => rowBadge(el, 'tampered'));
    await open(el, badge);
    await until('the reason spelled out', () => shadowText(el).includes('content changed since anchoring'));
  },
};

export const TamperedRootNotOnChain: Story = {
  name: 'Tampered (root never anchored on chain)',
  loaders: [
    async () => {
      const ds = await fixture();
      ds.claimUnanchoredRoot(ds.keys()[0]!);
      return { ds };
    },
  ],
  play: async ({ canvasElement }) => {
    const el = viewer(canvasElement);
    const badge = await until('a tampered badge', () => rowBadge(el, 'tampered'));
    await open(el, badge);
    await until('the reason spelled out', () => shadowText(el).includes('root not anchored on chain'));
  },
};

export const TamperedBridgeIntegrity: Story = {
  name: 'Tampered (bridge reports inconsistent bytes)',
  loaders: [
    async () => {
      const ds = await fixture();
      ds.reportBridgeIntegrityError(ds.keys()[0]!, 'The IPFS payload does not match its CID.');
      return { ds };
    },
  ],
  play: async ({ canvasElement }) => {
    const el = viewer(canvasElement);
    await until('a tampered badge', () => rowBadge(el, 'tampered'));
  },
};

export const ConsentRequired: Story = {
  name: 'Consent revoked / not granted (doctor)',
  loaders: [
    async () => ({
      ds: failing(await fixture(), 'forbidden', 'no consent', ['getPatient', 'listRecords', 'getRecord']),
      mode: 'doctor',
    }),
  ],
  play: async ({ canvasElement }) => {
    const el = viewer(canvasElement);
    await until('the refusal', () =>
      allInShadow(el, '[role="alert"]').some((a) =>
        a.textContent!.includes('Ask the patient to grant you access'),
      ),
    );
  },
};

export const DoctorSearch: Story = {
  name: 'Doctor: patient search',
  loaders: [async () => ({ ds: await fixture(), patientId: '', mode: 'doctor' })],
  play: async ({ canvasElement }) => {
    const el = viewer(canvasElement);
    const input = await until('the search form', () =>
      inShadow<HTMLInputElement>(el, '[part="search"] input[name="text"]'),
    );
    input.value = 'Clemente';
    inShadow<HTMLFormElement>(el, '[part="search"] form')!.requestSubmit();
    await until('a match', () => allInShadow(el, '[part="search"] .matches button').length > 0);
  },
};

export const VerifiedAttachment: Story = {
  name: 'Verified document with attachment',
  loaders: [async () => ({ ds: await withDocument() })],
  play: async ({ canvasElement }) => {
    const el = viewer(canvasElement);
    // Documents come last in the timeline; filter to them as a person would.
    const filter = await until('the documents filter', () =>
      allInShadow(el, '[part="filters"] label')
        .find((l) => l.textContent!.includes('Documents'))
        ?.querySelector('input'),
    );
    filter.click();
    const row = await until(
      'the document row',
      () => allInShadow(el, '[part="record"]').length === 1 && inShadow(el, '[part="record"]'),
    );
    await open(el, row);
    await until('the attachment shown after verification', () => inShadow(el, '[part="attachment"]'));
  },
};

export const EditContact: Story = {
  name: 'Patient: edit contact details',
  loaders: [async () => ({ ds: await fixture(), mode: 'patient' })],
  play: async ({ canvasElement }) => {
    const el = viewer(canvasElement);
    const edit = await until('the edit button', () =>
      allInShadow<HTMLButtonElement>(el, 'button').find((b) => b.textContent!.trim() === 'Edit contact'),
    );
    edit.click();
    await until('the contact form', () => inShadow(el, 'form.contact-form'));
  },
};

export const PatientVersions: Story = {
  name: 'Patient: versions of the Patient record (contact edited, both verified)',
  loaders: [
    async () => {
      const ds = await fixture();
      // The patient changed their phone number: the Patient record has version 2, anchored in a batch of its own.
      await ds.updateContact(ds.patientId, { baseVersionId: '1', phone: '555-0100' });
      await ds.anchorPending();
      return { ds, mode: 'patient' };
    },
  ],
  play: async ({ canvasElement }) => {
    const el = viewer(canvasElement);
    const versions = await until('the Versions disclosure', () =>
      inShadow<HTMLElement>(el, '[part="patient-versions"] summary'),
    );
    versions.click();
    await until('versions 2 and 1 verified', () => {
      const history = inShadow(el, '[part="patient-versions"] ehr-version-history');
      return (
        history?.shadowRoot?.querySelectorAll('[part="version"] [part="badge"][data-state="verified"]')
          .length === 2
      );
    });
  },
};

export const LongHistory: Story = {
  name: 'Long history (virtualized)',
  loaders: [async () => ({ ds: await fixture('xlarge-stewart-stanton.json') })],
  play: async ({ canvasElement }) => {
    const el = viewer(canvasElement);
    await until('a verified badge', () => rowBadge(el, 'verified'));
  },
};

export const NotConfigured: Story = {
  name: 'Not configured (no data source)',
  loaders: [async () => ({})],
  play: async ({ canvasElement }) => {
    const el = viewer(canvasElement);
    await until('the configuration hint', () => shadowText(el).includes('No data source'));
  },
};

export const Dark: Story = {
  name: 'Verified, dark theme',
  globals: { theme: 'dark' },
  loaders: [async () => ({ ds: await fixture() })],
  play: async ({ canvasElement }) => {
    const el = viewer(canvasElement);
    await until('a verified badge', () => rowBadge(el, 'verified'));
  },
};
