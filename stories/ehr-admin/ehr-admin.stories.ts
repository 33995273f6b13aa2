import type { Meta, StoryObj } from '@storybook/web-components-vite';
import { FIXTURE_ACCOUNTS, type FixtureDataSource } from '@ehr-anchor/widgets/testing';
import '@ehr-anchor/widgets/ehr-admin.js';
import { failing, fixture, stalled } from '../support/data-sources.js';
import { allInShadow, inShadow, mount, shadowText, storyElement, until } from '../support/render.js';

interface Loaded {
  ds?: FixtureDataSource;
}

/**
 * Roles on chain: the network admin's hospitals, a hospital's doctors and pending registration
 * requests, and the visitor's registration request — each change a wallet transaction. The fixture
 * network has two hospitals, one doctor and one pending request.
 */
const meta: Meta = {
  title: 'Elements/ehr-admin',
  component: 'ehr-admin',
  args: { view: 'network' },
  argTypes: { view: { control: 'inline-radio', options: ['network', 'hospital', 'visitor'] } },
  render: (args, context) => {
    const { ds } = context.loaded as Loaded;
    return mount('ehr-admin', args, context, (el) => {
      if (ds) el.dataSource = ds;
    });
  },
};
export default meta;

type Story = StoryObj;

const admin = (canvasElement: HTMLElement) => storyElement(canvasElement, 'ehr-admin');
const txPhase = (el: Element) => inShadow(el, '[part="tx-status"]')?.dataset.phase;
const hospitalView = { view: 'hospital', hospital: FIXTURE_ACCOUNTS.hospital };

/** Types into the inputs of the form labelled `label` and submits it. */
async function submitForm(el: Element, label: string, values: Record<string, string>): Promise<void> {
  const form = await until(`the form "${label}"`, () =>
    allInShadow<HTMLFormElement>(el, 'form').find(
      (f) => f.getAttribute('aria-label') === label || f.getAttribute('part') === label,
    ),
  );
  for (const [name, value] of Object.entries(values)) {
    const field = form.querySelector<HTMLInputElement | HTMLSelectElement>(`[name="${name}"]`)!;
    field.value = value;
  }
  form.querySelector<HTMLButtonElement>('button[type="submit"]')!.click();
}

export const Hospitals: Story = {
  name: 'Network admin: hospitals',
  loaders: [async () => ({ ds: await fixture() })],
  play: async ({ canvasElement }) => {
    const el = admin(canvasElement);
    await until('the hospitals table', () => allInShadow(el, '[part="hospitals"] tbody tr').length === 2);
  },
};

export const AddHospital: Story = {
  name: 'Network admin: hospital added (transaction confirmed)',
  loaders: [async () => ({ ds: await fixture() })],
  play: async ({ canvasElement }) => {
    const el = admin(canvasElement);
    await until('the hospitals table', () => inShadow(el, '[part="hospitals"]'));
    await submitForm(el, 'Add hospital', {
      name: 'Hillside Hospital',
      address: FIXTURE_ACCOUNTS.visitor,
      bridgeSigner: FIXTURE_ACCOUNTS.otherDoctor,
    });
    await until('the confirmed transaction', () => txPhase(el) === 'confirmed');
    await until('the new hospital listed', () => allInShadow(el, '[part="hospitals"] tbody tr').length === 3);
  },
};

export const HospitalView: Story = {
  name: 'Hospital: doctors and registration requests',
  args: hospitalView,
  loaders: [async () => ({ ds: await fixture() })],
  play: async ({ canvasElement }) => {
    const el = admin(canvasElement);
    await until('the doctors table', () => inShadow(el, '[part="doctors"]'));
    await until('the pending request', () => allInShadow(el, '[part="registrations"] tbody tr').length === 1);
  },
};

export const RegistrationApproved: Story = {
  name: 'Hospital: registration approved',
  args: hospitalView,
  loaders: [async () => ({ ds: await fixture() })],
  play: async ({ canvasElement }) => {
    const el = admin(canvasElement);
    const approve = await until('the approve button', () =>
      allInShadow<HTMLButtonElement>(el, '[part="registrations"] button').find(
        (b) => b.textContent!.trim() === 'Approve',
      ),
    );
    approve.click();
    await until('the confirmed transaction', () => txPhase(el) === 'confirmed');
    await until('no request left', () => shadowText(el).includes('No pending registration requests'));
  },
};

export const DoctorRemoved: Story = {
  name: 'Hospital: doctor removed',
  args: hospitalView,
  loaders: [async () => ({ ds: await fixture() })],
  play: async ({ canvasElement }) => {
    const el = admin(canvasElement);
    const remove = await until(
      'the remove button',
      () => allInShadow<HTMLButtonElement>(el, '[part="doctors"] button')[0],
    );
    remove.click();
    const confirm = await until('the confirmation dialog', () =>
      inShadow<HTMLButtonElement>(el, 'dialog[part="confirm-dialog"][open] button[value="confirm"]'),
    );
    confirm.click();
    await until('the confirmed transaction', () => txPhase(el) === 'confirmed');
    await until('no doctor left', () => shadowText(el).includes('has no doctors yet'));
  },
};

export const ConfirmRemoveHospital: Story = {
  name: 'Network: confirm removing a hospital',
  args: { view: 'network' },
  loaders: [async () => ({ ds: await fixture() })],
  play: async ({ canvasElement }) => {
    const el = admin(canvasElement);
    const remove = await until(
      'the remove button',
      () => allInShadow<HTMLButtonElement>(el, '[part="hospitals"] button')[0],
    );
    remove.click();
    await until('the confirmation dialog', () => inShadow(el, 'dialog[part="confirm-dialog"][open]'));
  },
};

export const TransactionPending: Story = {
  name: 'Transaction pending',
  args: hospitalView,
  loaders: [async () => ({ ds: await fixture('tiny-clemente-kreiger.json', { manualMining: true }) })],
  play: async ({ canvasElement }) => {
    const el = admin(canvasElement);
    await until('the doctors table', () => inShadow(el, '[part="doctors"]'));
    await submitForm(el, 'Add doctor', { name: 'Dr. Ben Other', address: FIXTURE_ACCOUNTS.otherDoctor });
    await until('the pending transaction', () => txPhase(el) === 'pending');
  },
};

export const TransactionFailed: Story = {
  name: 'Transaction failed (reverted)',
  args: hospitalView,
  loaders: [
    async () => {
      const ds = await fixture();
      ds.failNextTransaction('AlreadyDoctor(0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65)');
      return { ds };
    },
  ],
  play: async ({ canvasElement }) => {
    const el = admin(canvasElement);
    await until('the doctors table', () => inShadow(el, '[part="doctors"]'));
    await submitForm(el, 'Add doctor', { name: 'Dr. Ben Other', address: FIXTURE_ACCOUNTS.otherDoctor });
    await until('the failed transaction', () => txPhase(el) === 'failed');
  },
};

export const VisitorRequest: Story = {
  name: 'Visitor: registration request sent',
  args: { view: 'visitor' },
  loaders: [async () => ({ ds: await fixture() })],
  play: async ({ canvasElement }) => {
    const el = admin(canvasElement);
    await until(
      'the hospital choice',
      () => allInShadow(el, '[part="register-form"] select option').length > 1,
    );
    await submitForm(el, 'register-form', {
      hospital: FIXTURE_ACCOUNTS.hospital,
      subject: `0x${'ab'.repeat(32)}`,
    });
    await until('the confirmed transaction', () => txPhase(el) === 'confirmed');
  },
};

export const VisitorInvalidSubject: Story = {
  name: 'Visitor: invalid subject',
  args: { view: 'visitor' },
  loaders: [async () => ({ ds: await fixture() })],
  play: async ({ canvasElement }) => {
    const el = admin(canvasElement);
    await until(
      'the hospital choice',
      () => allInShadow(el, '[part="register-form"] select option').length > 1,
    );
    await submitForm(el, 'register-form', { hospital: FIXTURE_ACCOUNTS.hospital, subject: 'my name' });
    await until('the form error', () =>
      allInShadow(el, '[role="alert"]').some((a) => a.textContent!.includes('64 hex digits')),
    );
  },
};

export const Loading: Story = {
  loaders: [async () => ({ ds: stalled(await fixture()) })],
  play: async ({ canvasElement }) => {
    const el = admin(canvasElement);
    await until('the loading status', () => shadowText(el).includes('Loading hospitals from the chain'));
  },
};

export const Empty: Story = {
  name: 'Empty (hospital without doctors or requests)',
  args: { view: 'hospital', hospital: FIXTURE_ACCOUNTS.otherHospital },
  loaders: [async () => ({ ds: await fixture() })],
  play: async ({ canvasElement }) => {
    const el = admin(canvasElement);
    await until(
      'the empty states',
      () =>
        shadowText(el).includes('has no doctors yet') &&
        shadowText(el).includes('No pending registration requests'),
    );
  },
};

export const ErrorState: Story = {
  name: 'Error (chain unreachable)',
  loaders: [async () => ({ ds: failing(await fixture(), 'network', 'fetch failed', ['listHospitals']) })],
  play: async ({ canvasElement }) => {
    const el = admin(canvasElement);
    await until('an error that says what to do', () =>
      allInShadow(el, '[role="alert"]').some((a) => a.textContent!.includes('could not be reached')),
    );
  },
};

export const WalletMissing: Story = {
  name: 'Wallet missing',
  args: hospitalView,
  loaders: [
    async () => ({
      ds: failing(await fixture(), 'no-wallet', 'no EIP-1193 provider', [
        'addDoctor',
        'removeDoctor',
        'approveRegistration',
        'rejectRegistration',
      ]),
    }),
  ],
  play: async ({ canvasElement }) => {
    const el = admin(canvasElement);
    await until('the doctors table', () => inShadow(el, '[part="doctors"]'));
    await submitForm(el, 'Add doctor', { name: 'Dr. Ben Other', address: FIXTURE_ACCOUNTS.otherDoctor });
    await until(
      'the no-wallet explanation',
      () =>
        txPhase(el) === 'failed' &&
        inShadow(el, '[part="tx-status"]')!.textContent!.includes('No wallet was found'),
    );
  },
};

export const WrongNetwork: Story = {
  name: 'Wrong network',
  args: hospitalView,
  loaders: [
    async () => ({
      ds: failing(await fixture(), 'wrong-network', 'chain 1 ≠ 1337', [
        'addDoctor',
        'removeDoctor',
        'approveRegistration',
        'rejectRegistration',
      ]),
    }),
  ],
  play: async ({ canvasElement }) => {
    const el = admin(canvasElement);
    await until('the doctors table', () => inShadow(el, '[part="doctors"]'));
    await submitForm(el, 'Add doctor', { name: 'Dr. Ben Other', address: FIXTURE_ACCOUNTS.otherDoctor });
    await until(
      'the wrong-network explanation',
      () =>
        txPhase(el) === 'failed' &&
        inShadow(el, '[part="tx-status"]')!.textContent!.includes('another network'),
    );
  },
};

export const Dark: Story = {
  name: 'Hospital view, dark theme',
  globals: { theme: 'dark' },
  args: hospitalView,
  loaders: [async () => ({ ds: await fixture() })],
  play: async ({ canvasElement }) => {
    const el = admin(canvasElement);
    await until('the doctors table', () => inShadow(el, '[part="doctors"]'));
  },
};
