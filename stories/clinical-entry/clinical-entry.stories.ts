import type { Meta, StoryObj } from '@storybook/web-components-vite';
import type { Condition } from 'fhir/r4';
import { EntryRefusedError, type FixtureEntries } from '@ehr-anchor/widgets/testing';
import '@ehr-anchor/widgets/clinical-entry.js';
import { entriesStalled, withEntries } from '../support/data-sources.js';
import { allInShadow, inShadow, mount, shadowText, storyElement, until } from '../support/render.js';

interface Loaded {
  entries?: FixtureEntries;
  /** The data source the element gets (default: `entries.source`). */
  source?: FixtureEntries['source'];
}

/** Where `<clinical-entry>` keeps the draft of a patient (sessionStorage, see the element's README). */
/** Drafts are kept per signed-in account and patient; the stories have no session ("anonymous"). */
const draftKey = (entries: FixtureEntries) => `ehr-clinical-entry:anonymous|${entries.patientId}`;

/** Each story starts from its own storage: no draft of another story shows up in this one. */
async function loadEntries(draft?: object): Promise<Loaded> {
  const entries = await withEntries();
  if (draft) sessionStorage.setItem(draftKey(entries), JSON.stringify({ draft, amending: null }));
  else sessionStorage.removeItem(draftKey(entries));
  return { entries };
}

/**
 * A doctor writes a clinical entry — history, medications, vital signs, lab results, assessment and
 * plan — as one FHIR transaction. The stories use the widgets' in-memory entry store
 * (`FixtureEntries`), which checks the bundle with the bridge's own rules, gives ids and versions
 * like a FHIR server (and refuses a stale If-Match like one), and anchors on request with real
 * leaves and a real Merkle tree, so the version history verifies in the browser for real.
 */
const meta: Meta = {
  title: 'Elements/clinical-entry',
  component: 'clinical-entry',
  args: { 'poll-interval': 100 },
  render: (args, context) => {
    const { entries, source } = context.loaded as Loaded;
    return mount('clinical-entry', args, context, (el) => {
      if (entries) el.dataSource = source ?? entries.source;
      el.patientId = entries?.patientId ?? '';
    });
  },
};
export default meta;

type Story = StoryObj;

const entryForm = (canvasElement: HTMLElement) => storyElement(canvasElement, 'clinical-entry');

/** Types into a field as a person would (the element listens to `input`). */
function type(el: Element, id: string, value: string): void {
  const input = inShadow<HTMLInputElement | HTMLTextAreaElement>(el, `#${id}`);
  if (!input) throw new Error(`no field #${id}`);
  input.value = value;
  input.dispatchEvent(new Event('input', { bubbles: true, composed: true }));
}

function choose(el: Element, id: string, value: string): void {
  const select = inShadow<HTMLSelectElement>(el, `#${id}`);
  if (!select) throw new Error(`no field #${id}`);
  select.value = value;
  select.dispatchEvent(new Event('change', { bubbles: true, composed: true }));
}

function click(el: Element, text: string): void {
  const button = allInShadow<HTMLButtonElement>(el, 'button').find((b) => b.textContent!.trim() === text);
  if (!button) throw new Error(`no button "${text}"`);
  button.click();
}

/** Waits for the next render, so the rows a click added are in the form. */
const rendered = (el: Element) => (el as HTMLElementTagNameMap['clinical-entry']).updateComplete;

/** The doctor fills every section (synthetic values, no patient data). */
async function fillEntry(el: Element): Promise<void> {
  await until('the form', () => inShadow(el, 'form'));
  type(el, 'f-date', '2026-11-20');
  click(el, 'Add condition');
  await rendered(el);
  type(el, 'f-cond-0-text', 'Essential hypertension');
  type(el, 'f-cond-0-onset', '2025-03-01');
  click(el, 'Add medication');
  await rendered(el);
  choose(el, 'f-med-0-rxnorm', '316049');
  type(el, 'f-med-0-dose', '25');
  type(el, 'f-vital-systolic', '142');
  type(el, 'f-vital-diastolic', '91');
  type(el, 'f-vital-heartRate', '72');
  type(el, 'f-vital-temperature', '36.8');
  type(el, 'f-vital-weight', '81.5');
  type(el, 'f-vital-height', '178');
  click(el, 'Add lab result');
  await rendered(el);
  choose(el, 'f-lab-0-pick', '2339-0');
  type(el, 'f-lab-0-value', '104');
  type(el, 'f-lab-0-low', '70');
  type(el, 'f-lab-0-high', '99');
  type(el, 'f-assessment', 'Stage 1 hypertension.');
  type(el, 'f-plan', 'Start a thiazide; recheck in 4 weeks.');
  await rendered(el);
}

async function save(el: Element): Promise<void> {
  await rendered(el);
  inShadow<HTMLButtonElement>(el, 'button[type="submit"]')!.click();
}

const resultText = (el: Element) => inShadow(el, '[part="result"]')?.textContent ?? '';

/** Saves a full entry and anchors it (the bridge's batcher, on demand in the fixture). */
async function saveAndAnchor(el: Element, entries: FixtureEntries): Promise<void> {
  await fillEntry(el);
  await save(el);
  await until('the entry saved', () => resultText(el).includes('Stored on IPFS'));
  await entries.anchorPending();
  await until('every record anchored', () =>
    resultText(el).includes('All 10 records of this entry are anchored.'),
  );
}

/** Saves and anchors a full entry, then opens it for amendment. */
async function startAmendment(el: Element, entries: FixtureEntries): Promise<void> {
  await saveAndAnchor(el, entries);
  click(el, 'Amend this entry');
  await until('the amendment form', () => inShadow(el, 'h2')?.textContent === 'Amend clinical entry');
}

export const Empty: Story = {
  name: 'Empty form',
  loaders: [() => loadEntries()],
  play: async ({ canvasElement }) => {
    const el = entryForm(canvasElement);
    await until('the six sections', () => allInShadow(el, 'legend').length === 6);
  },
};

export const DraftRestored: Story = {
  name: 'Draft restored after a reload',
  loaders: [
    () =>
      loadEntries({
        date: '2026-11-20',
        encounterClass: 'AMB',
        conditions: [{ text: 'Migraine with aura', onset: '2024-06-01', status: 'active' }],
        vitals: { systolic: '128', diastolic: '82', heartRate: '64' },
        assessment: 'Episodic migraine, well controlled.',
      }),
  ],
  play: async ({ canvasElement }) => {
    const el = entryForm(canvasElement);
    await until('the restored notice', () => shadowText(el).includes('Your unsaved draft was restored.'));
    await until(
      'the restored condition',
      () => inShadow<HTMLInputElement>(el, '#f-cond-0-text')?.value === 'Migraine with aura',
    );
  },
};

export const ValidationErrors: Story = {
  name: 'Validation errors, shown per field',
  loaders: [() => loadEntries()],
  play: async ({ canvasElement }) => {
    const el = entryForm(canvasElement);
    await until('the form', () => inShadow(el, 'form'));
    click(el, 'Add condition');
    await rendered(el);
    type(el, 'f-cond-0-text', 'Asthma');
    type(el, 'f-vital-heartRate', '900');
    type(el, 'f-vital-temperature', 'warm');
    type(el, 'f-vital-systolic', '80');
    type(el, 'f-vital-diastolic', '95');
    await save(el);
    await until('each wrong field marked', () => allInShadow(el, '[aria-invalid="true"]').length >= 5);
    await until(
      'the heart rate explained',
      () =>
        inShadow(el, '#f-vital-heartRate-error')?.textContent ===
        'Heart rate must be between 20 and 300 /min.',
    );
    await until('the summary', () =>
      allInShadow(el, '[role="alert"]').some((a) => a.textContent!.includes('fields need attention')),
    );
  },
};

export const Submitting: Story = {
  name: 'Saving (waiting for the FHIR server)',
  loaders: [
    async () => {
      const loaded = await loadEntries();
      return { ...loaded, source: entriesStalled(loaded.entries!) };
    },
  ],
  play: async ({ canvasElement }) => {
    const el = entryForm(canvasElement);
    await fillEntry(el);
    await save(el);
    await until('the saving status', () => shadowText(el).includes('Saving the entry…'));
    await until(
      'the save button disabled',
      () => inShadow<HTMLButtonElement>(el, 'button[type="submit"]')?.disabled,
    );
  },
};

export const Saved: Story = {
  name: 'Saved, waiting for the anchor',
  loaders: [() => loadEntries()],
  play: async ({ canvasElement }) => {
    const el = entryForm(canvasElement);
    await fillEntry(el);
    await save(el);
    await until(
      'every record stored',
      () => allInShadow(el, '[part="result"] li[data-state="stored"]').length === 10,
    );
    await until('the progress', () => resultText(el).includes('0 of 10 records anchored.'));
  },
};

export const Anchored: Story = {
  name: 'Saved and anchored',
  loaders: [() => loadEntries()],
  play: async ({ canvasElement, loaded }) => {
    const el = entryForm(canvasElement);
    await saveAndAnchor(el, (loaded as Loaded).entries!);
    await until('the anchoring transaction', () => /Transaction: 0x[0-9a-f]{64}/.test(resultText(el)));
  },
};

/** Loaders and play of a story where the bridge refuses the entry (injected by name: `refuseNext`) and the element says `says`. */
function refused(refusal: EntryRefusedError, says: string): Pick<Story, 'loaders' | 'play'> {
  return {
    loaders: [
      async () => {
        const loaded = await loadEntries();
        loaded.entries!.refuseNext(refusal);
        return loaded;
      },
    ],
    play: async ({ canvasElement }) => {
      const el = entryForm(canvasElement);
      await fillEntry(el);
      await save(el);
      await until(`the refusal: ${says}`, () =>
        (inShadow(el, '[part="refusal"]')?.textContent ?? '').includes(says),
      );
    },
  };
}

export const NoConsent: Story = {
  name: 'Save failed (no consent)',
  ...refused(
    new EntryRefusedError(
      'forbidden',
      'The patient has not granted you or Riverside General access to: Conditions, Medications. Ask the patient to add these to a grant.',
      [],
    ),
    'access to: Conditions, Medications. Ask the patient to add these to a grant.',
  ),
};

export const Unreachable: Story = {
  name: 'Save failed (bridge unreachable)',
  ...refused(
    new EntryRefusedError('network', 'The bridge could not be reached.', []),
    'could not be reached',
  ),
};

export const Amended: Story = {
  name: 'Amendment with version history',
  loaders: [() => loadEntries()],
  play: async ({ canvasElement, loaded }) => {
    const el = entryForm(canvasElement);
    const { entries } = loaded as Loaded;
    await startAmendment(el, entries!);
    choose(el, 'f-cond-0-status', 'resolved');
    type(el, 'f-vital-heartRate', '68');
    await save(el);
    await until(
      'the amendment saved',
      () => entries!.submitted.length === 2 && resultText(el).includes('records anchored'),
    );
    await entries!.anchorPending();
    const panel = await until('the version history', () =>
      inShadow(el, '[part="history"] ehr-version-history'),
    );
    await until(
      'both versions of the Condition verified',
      () => allInShadow(panel, '[part="version"] [part="badge"][data-state="verified"]').length === 2,
      60_000,
    );
    await until('what changed', () => inShadow(panel, '[part="version"] ins')?.textContent === 'resolved');
  },
};

/** This doctor's amendment of version 1 after another doctor amended the Condition (version 2: inactive, onset moved). */
async function conflict(el: Element, entries: FixtureEntries): Promise<void> {
  await startAmendment(el, entries);
  // Another doctor amends the Condition first (version 2), through the same store.
  await entries.amendElsewhere<Condition>('Condition', (c) => {
    c.clinicalStatus!.coding![0]!.code = 'inactive';
    c.onsetDateTime = '2025-02-01';
  });
  await entries.anchorPending();
  choose(el, 'f-cond-0-status', 'remission');
  type(el, 'f-vital-heartRate', '66');
  await save(el);
  await until('the conflict', () => inShadow(el, '[part="refusal"][data-kind="conflict"]'));
  await until(
    'the draft kept',
    () => inShadow<HTMLSelectElement>(el, '#f-cond-0-status')?.value === 'remission',
  );
}

export const Conflict: Story = {
  name: 'Amendment conflict (someone else amended first)',
  loaders: [() => loadEntries()],
  play: async ({ canvasElement, loaded }) => {
    await conflict(entryForm(canvasElement), (loaded as Loaded).entries!);
  },
};

export const CurrentVersionLoaded: Story = {
  name: 'Amendment conflict → current version loaded (their change in the form, yours on top)',
  loaders: [() => loadEntries()],
  play: async ({ canvasElement, loaded }) => {
    const el = entryForm(canvasElement);
    await conflict(el, (loaded as Loaded).entries!);
    inShadow<HTMLButtonElement>(el, '[part="load-current"]')!.click();
    await until('the current version loaded', () => inShadow(el, '[part="rebased"]'));
    await until(
      'their onset in the form',
      () => inShadow<HTMLInputElement>(el, '#f-cond-0-onset')?.value === '2025-02-01',
    );
    await until('the history verified', () => {
      const history = inShadow(el, '[part="history"] ehr-version-history');
      return history?.shadowRoot?.querySelectorAll('[part="badge"][data-state="verified"]').length === 2;
    });
  },
};

export const Dark: Story = {
  name: 'Validation errors, dark theme',
  globals: { theme: 'dark' },
  loaders: [() => loadEntries()],
  play: async ({ canvasElement }) => {
    const el = entryForm(canvasElement);
    await until('the form', () => inShadow(el, 'form'));
    type(el, 'f-vital-heartRate', '900');
    await save(el);
    await until('the heart rate marked', () => inShadow(el, '#f-vital-heartRate[aria-invalid="true"]'));
  },
};
