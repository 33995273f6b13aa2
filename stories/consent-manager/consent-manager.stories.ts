import type { Meta, StoryObj } from '@storybook/web-components-vite';
import { FIXTURE_ACCOUNTS, type FixtureDataSource } from '@ehr-anchor/widgets/testing';
import '@ehr-anchor/widgets/consent-manager.js';
import { failing, fixture, stalled } from '../support/data-sources.js';
import { allInShadow, inShadow, mount, shadowText, storyElement, until } from '../support/render.js';

interface Loaded {
  ds?: FixtureDataSource;
  patientId?: string;
}

/**
 * The patient's consents: grants read from (fixture) chain state, grant and revoke through the
 * wallet with each transaction phase, and the access log. Wallet faults are the errors the real
 * HTTP+chain data source raises for them (no wallet, wrong network, rejected, reverted).
 */
const meta: Meta = {
  title: 'Elements/consent-manager',
  component: 'consent-manager',
  render: (args, context) => {
    const { ds, patientId } = context.loaded as Loaded;
    return mount('consent-manager', args, context, (el) => {
      if (ds) el.dataSource = ds;
      el.patientId = patientId ?? ds?.patientId ?? '';
    });
  },
};
export default meta;

type Story = StoryObj;

const manager = (canvasElement: HTMLElement) => storyElement(canvasElement, 'consent-manager');
const txPhase = (el: Element) => inShadow(el, '[part="tx-status"]')?.dataset.phase;

/** A fixture where the patient has granted their hospital access to everything. */
async function withGrant(options: Parameters<typeof fixture>[1] = {}): Promise<FixtureDataSource> {
  const ds = await fixture('tiny-clemente-kreiger.json', options);
  const tx = await ds.grant(ds.patientId, {
    grantee: FIXTURE_ACCOUNTS.hospital,
    granteeKind: 'hospital',
    scope: ['demographics', 'observations', 'immunizations'],
    expiresAt: 0,
  });
  if (options.manualMining) ds.mine();
  await tx.wait();
  // Reads by the doctor fill the access log (the fixture logs every read, like the bridge's audit).
  await ds.getPatient(ds.patientId);
  await ds.getRecord(ds.patientId, ds.keys()[0]!);
  return ds;
}

/** Fills the grant form as a person would and submits it. */
async function submitGrant(
  el: Element,
  grantee: string,
  kind: 'hospital' | 'doctor',
  scopes: string[] = ['documents'],
): Promise<void> {
  const input = await until('the grant form', () =>
    inShadow<HTMLInputElement>(el, '[part="grant-form"] input[name="grantee"]'),
  );
  await until('the grants loaded', () => !shadowText(el).includes('Loading grants'));
  input.value = grantee;
  inShadow<HTMLSelectElement>(el, '[part="grant-form"] select[name="kind"]')!.value = kind;
  for (const box of allInShadow<HTMLInputElement>(el, '[part="grant-form"] input[name="scope"]'))
    box.checked = scopes.includes(box.value);
  inShadow<HTMLButtonElement>(el, '[part="grant-form"] button[type="submit"]')!.click();
}

export const Grants: Story = {
  name: 'Active grants and access log',
  loaders: [async () => ({ ds: await withGrant() })],
  play: async ({ canvasElement }) => {
    const el = manager(canvasElement);
    await until('the grant listed', () =>
      inShadow(el, `[part="grants"] [data-address="${FIXTURE_ACCOUNTS.hospital}"]`),
    );
    await until('the access log', () => allInShadow(el, '[part="access-log"] tbody tr').length > 0);
  },
};

export const Loading: Story = {
  loaders: [async () => ({ ds: stalled(await fixture()) })],
  play: async ({ canvasElement }) => {
    const el = manager(canvasElement);
    await until('the loading status', () => shadowText(el).includes('Loading grants from the chain'));
  },
};

export const Empty: Story = {
  name: 'Empty (no grants, no reads)',
  loaders: [async () => ({ ds: await fixture() })],
  play: async ({ canvasElement }) => {
    const el = manager(canvasElement);
    await until('the empty state', () => shadowText(el).includes('You have not granted anyone access'));
    await until('the empty log', () => shadowText(el).includes('No one has accessed'));
  },
};

export const ErrorState: Story = {
  name: 'Error (chain unreachable)',
  loaders: [
    async () => ({ ds: failing(await fixture(), 'network', 'fetch failed', ['listGrants', 'accessLog']) }),
  ],
  play: async ({ canvasElement }) => {
    const el = manager(canvasElement);
    await until('an error that says what to do', () =>
      allInShadow(el, '[role="alert"]').some((a) => a.textContent!.includes('could not be reached')),
    );
  },
};

export const TransactionPending: Story = {
  name: 'Transaction pending',
  loaders: [async () => ({ ds: await fixture('tiny-clemente-kreiger.json', { manualMining: true }) })],
  play: async ({ canvasElement }) => {
    const el = manager(canvasElement);
    await submitGrant(el, FIXTURE_ACCOUNTS.doctor, 'doctor', ['observations']);
    await until('the pending transaction', () => txPhase(el) === 'pending');
  },
};

export const TransactionConfirmed: Story = {
  name: 'Transaction confirmed (grant)',
  loaders: [async () => ({ ds: await fixture() })],
  play: async ({ canvasElement }) => {
    const el = manager(canvasElement);
    await submitGrant(el, FIXTURE_ACCOUNTS.otherHospital, 'hospital');
    await until('the confirmed transaction', () => txPhase(el) === 'confirmed');
    await until('the new grant listed', () =>
      inShadow(el, `[part="grants"] [data-address="${FIXTURE_ACCOUNTS.otherHospital}"]`),
    );
  },
};

export const TransactionFailed: Story = {
  name: 'Transaction failed (reverted)',
  loaders: [
    async () => {
      const ds = await fixture();
      ds.failNextTransaction('GrantToUnknownParty()');
      return { ds };
    },
  ],
  play: async ({ canvasElement }) => {
    const el = manager(canvasElement);
    await submitGrant(el, FIXTURE_ACCOUNTS.visitor, 'doctor');
    await until('the failed transaction', () => txPhase(el) === 'failed');
  },
};

export const ConsentRevoked: Story = {
  name: 'Consent revoked',
  loaders: [async () => ({ ds: await withGrant() })],
  play: async ({ canvasElement }) => {
    const el = manager(canvasElement);
    const revoke = await until('the revoke button', () =>
      allInShadow<HTMLButtonElement>(el, '[part="grants"] button').find((b) =>
        b.textContent!.includes('Revoke'),
      ),
    );
    revoke.click();
    const confirm = await until('the confirmation dialog', () =>
      inShadow<HTMLButtonElement>(el, 'dialog[part="revoke-dialog"][open] button[value="revoke"]'),
    );
    confirm.click();
    await until('the revocation confirmed', () => txPhase(el) === 'confirmed');
    await until('no grant left', () => shadowText(el).includes('You have not granted anyone access'));
  },
};

export const WalletMissing: Story = {
  name: 'Wallet missing',
  loaders: [
    async () => ({ ds: failing(await fixture(), 'no-wallet', 'no EIP-1193 provider', ['grant', 'revoke']) }),
  ],
  play: async ({ canvasElement }) => {
    const el = manager(canvasElement);
    await submitGrant(el, FIXTURE_ACCOUNTS.hospital, 'hospital');
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
  loaders: [
    async () => ({ ds: failing(await fixture(), 'wrong-network', 'chain 1 ≠ 1337', ['grant', 'revoke']) }),
  ],
  play: async ({ canvasElement }) => {
    const el = manager(canvasElement);
    await submitGrant(el, FIXTURE_ACCOUNTS.hospital, 'hospital');
    await until(
      'the wrong-network explanation',
      () =>
        txPhase(el) === 'failed' &&
        inShadow(el, '[part="tx-status"]')!.textContent!.includes('another network'),
    );
  },
};

export const WalletRejected: Story = {
  name: 'Rejected in the wallet',
  loaders: [
    async () => ({ ds: failing(await fixture(), 'wallet-rejected', 'user rejected', ['grant', 'revoke']) }),
  ],
  play: async ({ canvasElement }) => {
    const el = manager(canvasElement);
    await submitGrant(el, FIXTURE_ACCOUNTS.hospital, 'hospital');
    await until(
      'the rejection explained',
      () =>
        txPhase(el) === 'failed' &&
        inShadow(el, '[part="tx-status"]')!.textContent!.includes('rejected in your wallet'),
    );
  },
};

export const InvalidGrantee: Story = {
  name: 'Invalid grantee address',
  loaders: [async () => ({ ds: await fixture() })],
  play: async ({ canvasElement }) => {
    const el = manager(canvasElement);
    await submitGrant(el, 'dr-who', 'doctor');
    await until('the form error', () =>
      allInShadow(el, '[role="alert"]').some((a) => a.textContent!.includes('40 hex digits')),
    );
  },
};

export const Dark: Story = {
  name: 'Active grants, dark theme',
  globals: { theme: 'dark' },
  loaders: [async () => ({ ds: await withGrant() })],
  play: async ({ canvasElement }) => {
    const el = manager(canvasElement);
    await until('the grant listed', () => inShadow(el, '[part="grants"]'));
  },
};
