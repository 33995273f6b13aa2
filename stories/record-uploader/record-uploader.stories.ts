import type { Meta, StoryObj } from '@storybook/web-components-vite';
import type { FixtureDataSource } from '@ehr-anchor/widgets/testing';
import '@ehr-anchor/widgets/record-uploader.js';
import { failing, fixture, uploadFrozenAt } from '../support/data-sources.js';
import { allInShadow, inShadow, mount, shadowText, storyElement, until } from '../support/render.js';

interface Loaded {
  ds?: FixtureDataSource;
  patientId?: string;
}

/**
 * A health worker uploads a document: validation before upload, real read progress from the
 * fixture source, then the record followed from "stored on IPFS" to "anchored". The fixture
 * anchors pending records when the story calls `anchorPending()`, as the bridge's batcher would.
 */
const meta: Meta = {
  title: 'Elements/record-uploader',
  component: 'record-uploader',
  args: { 'poll-interval': 200 },
  render: (args, context) => {
    const { ds, patientId } = context.loaded as Loaded;
    return mount('record-uploader', args, context, (el) => {
      if (ds) el.dataSource = ds;
      el.patientId = patientId ?? ds?.patientId ?? '';
    });
  },
};
export default meta;

type Story = StoryObj;

const uploader = (canvasElement: HTMLElement) => storyElement(canvasElement, 'record-uploader');

/** A small PDF (synthetic, no patient data) of about `kb` kilobytes. */
function samplePdf(kb = 256): File {
  const body = `%PDF-1.4\n% synthetic sample referral letter\n${'0'.repeat(kb * 1024)}\n%%EOF\n`;
  return new File([body], 'referral-letter.pdf', { type: 'application/pdf' });
}

/** Fills the form and picks `file` as a person would with the file picker, then submits. */
async function uploadAs(el: Element, file: File, submit = true): Promise<void> {
  const title = await until('the upload form', () =>
    inShadow<HTMLInputElement>(el, '[part="form"] input[name="title"]'),
  );
  title.value = 'Referral letter';
  const input = inShadow<HTMLInputElement>(el, 'input[type="file"]')!;
  const transfer = new DataTransfer();
  transfer.items.add(file);
  input.files = transfer.files;
  input.dispatchEvent(new Event('change', { bubbles: true }));
  if (submit) inShadow<HTMLButtonElement>(el, '[part="form"] button[type="submit"]')!.click();
}

export const Idle: Story = {
  name: 'Empty form',
  loaders: [async () => ({ ds: await fixture() })],
  play: async ({ canvasElement }) => {
    const el = uploader(canvasElement);
    await until('the drop zone', () => inShadow(el, '[part="dropzone"]'));
  },
};

export const UploadInProgress: Story = {
  name: 'Upload in progress',
  loaders: [async () => ({ ds: uploadFrozenAt(await fixture(), 0.42) })],
  play: async ({ canvasElement }) => {
    const el = uploader(canvasElement);
    await uploadAs(el, samplePdf());
    const bar = await until('the progress bar', () => inShadow<HTMLProgressElement>(el, '[part="progress"]'));
    await until('42 % shown', () => bar.value / bar.max > 0.4 && shadowText(el).includes('42'));
  },
};

export const StoredOnIpfs: Story = {
  name: 'Stored on IPFS (waiting for the anchor)',
  loaders: [async () => ({ ds: await fixture() })],
  play: async ({ canvasElement }) => {
    const el = uploader(canvasElement);
    await uploadAs(el, samplePdf());
    await until('the stored state with its CID', () =>
      inShadow(el, '[part="result"]')?.textContent!.includes('fixture-'),
    );
  },
};

export const Anchored: Story = {
  name: 'Anchored',
  loaders: [async () => ({ ds: await fixture() })],
  play: async ({ canvasElement, loaded }) => {
    const el = uploader(canvasElement);
    await uploadAs(el, samplePdf());
    await until('the stored state', () => inShadow(el, '[part="result"]'));
    // The batcher's next batch (in the fixture: on demand).
    await (loaded as Loaded).ds!.anchorPending();
    await until(
      'every step done',
      () => allInShadow(el, '[part="result"] ol.steps li[data-done]').length === 4,
    );
  },
};

export const UploadFailed: Story = {
  name: 'Upload failed',
  loaders: [async () => ({ ds: failing(await fixture(), 'network', 'connection reset', ['upload']) })],
  play: async ({ canvasElement }) => {
    const el = uploader(canvasElement);
    await uploadAs(el, samplePdf());
    await until('the failure explained', () =>
      allInShadow(el, '[role="alert"]').some((a) => a.textContent!.includes('could not be reached')),
    );
  },
};

export const NotAllowed: Story = {
  name: 'Refused (no consent for documents)',
  loaders: [async () => ({ ds: failing(await fixture(), 'forbidden', 'no consent', ['upload']) })],
  play: async ({ canvasElement }) => {
    const el = uploader(canvasElement);
    await uploadAs(el, samplePdf());
    await until('the refusal', () =>
      allInShadow(el, '[role="alert"]').some((a) => a.textContent!.includes('do not have access')),
    );
  },
};

export const NotSignedIn: Story = {
  name: 'Not signed in (wallet missing)',
  loaders: [async () => ({ ds: failing(await fixture(), 'unauthorized', 'no session', ['upload']) })],
  play: async ({ canvasElement }) => {
    const el = uploader(canvasElement);
    await uploadAs(el, samplePdf());
    await until('the sign-in hint', () =>
      allInShadow(el, '[role="alert"]').some((a) => a.textContent!.includes('not signed in')),
    );
  },
};

export const TooLarge: Story = {
  name: 'Refused before upload (too large)',
  args: { 'max-size': 65536 },
  loaders: [async () => ({ ds: await fixture() })],
  play: async ({ canvasElement }) => {
    const el = uploader(canvasElement);
    await uploadAs(el, samplePdf(), false);
    await until(
      'the size error',
      () => (inShadow(el, '.error[role="alert"]')?.textContent ?? '').trim().length > 0,
    );
  },
};

export const WrongType: Story = {
  name: 'Refused before upload (file type)',
  loaders: [async () => ({ ds: await fixture() })],
  play: async ({ canvasElement }) => {
    const el = uploader(canvasElement);
    await uploadAs(el, new File(['<html></html>'], 'page.html', { type: 'text/html' }), false);
    await until(
      'the type error',
      () => (inShadow(el, '.error[role="alert"]')?.textContent ?? '').trim().length > 0,
    );
  },
};

export const PatientField: Story = {
  name: 'Without a patient (patient field shown)',
  loaders: [async () => ({ ds: await fixture(), patientId: '' })],
  play: async ({ canvasElement }) => {
    const el = uploader(canvasElement);
    await until('the patient field', () => inShadow(el, 'input[name="patient"]'));
  },
};

export const Dark: Story = {
  name: 'Upload in progress, dark theme',
  globals: { theme: 'dark' },
  loaders: [async () => ({ ds: uploadFrozenAt(await fixture(), 0.7) })],
  play: async ({ canvasElement }) => {
    const el = uploader(canvasElement);
    await uploadAs(el, samplePdf());
    await until('the progress bar', () => inShadow(el, '[part="progress"]'));
  },
};
