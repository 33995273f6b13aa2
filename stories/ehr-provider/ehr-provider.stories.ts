import type { Meta, StoryObj } from '@storybook/web-components-vite';
import { Wallet } from 'ethers';
import { TestWallet, type FixtureDataSource } from '@ehr-anchor/widgets/testing';
import '@ehr-anchor/widgets/ehr-provider.js';
import '@ehr-anchor/widgets/ehr-viewer.js';
import { fixture } from '../support/data-sources.js';
import { allInShadow, inShadow, mount, shadowText, storyElement, until } from '../support/render.js';

interface Loaded {
  ds?: FixtureDataSource;
  wallet?: TestWallet;
}

/** A throw-away test key (not anyone's account): the stories' wallet signs with it. */
const STORY_KEY = `0x${'5a'.repeat(32)}`;
const CHAIN_ID = 1337;

/**
 * The context root: wallet state (none, locked, connected, wrong network, rejected) and Sign-In with
 * Ethereum, with an `<ehr-viewer>` inside that uses the session. The wallet is the widgets'
 * `TestWallet` (real signatures) and the bridge the fixture data source.
 */
const meta: Meta = {
  title: 'Elements/ehr-provider',
  component: 'ehr-provider',
  args: { 'chain-id': CHAIN_ID },
  render: (args, context) => {
    const { ds, wallet } = context.loaded as Loaded;
    return mount('ehr-provider', args, context, (el) => {
      el.ethereum = wallet;
      if (ds) el.dataSource = ds;
      const viewer = document.createElement('ehr-viewer');
      viewer.patientId = ds?.patientId ?? '';
      el.append(viewer);
    });
  },
};
export default meta;

type Story = StoryObj;

const provider = (canvasElement: HTMLElement) => storyElement(canvasElement, 'ehr-provider');
const status = (el: Element) => inShadow(el, '[part="status"]')?.textContent ?? '';
const button = (el: Element, label: string) =>
  allInShadow<HTMLButtonElement>(el, '[part="bar"] button').find((b) => b.textContent!.trim() === label);

async function wallet(options: { unlocked?: boolean; chainId?: number } = {}): Promise<TestWallet> {
  return new TestWallet(new Wallet(STORY_KEY), options.chainId ?? CHAIN_ID, {
    unlocked: options.unlocked ?? true,
  });
}

export const SignedIn: Story = {
  name: 'Signed in (patient), viewer inside',
  loaders: [
    async () => ({
      ds: await fixture('tiny-clemente-kreiger.json', { signInAs: 'patient' }),
      wallet: await wallet(),
    }),
  ],
  play: async ({ canvasElement }) => {
    const el = provider(canvasElement);
    (await until('the sign-in button', () => button(el, 'Sign in'))).click();
    await until('signed in as patient', () => status(el).includes('Signed in as patient'));
    const viewer = el.querySelector('ehr-viewer')!;
    await until('the record inside, verified', () =>
      inShadow(viewer, '[part="badge"][data-state="verified"]'),
    );
  },
};

export const WalletMissing: Story = {
  name: 'Wallet missing (read-only)',
  loaders: [async () => ({ ds: await fixture() })],
  play: async ({ canvasElement }) => {
    const el = provider(canvasElement);
    await until('the read-only explanation', () => status(el).includes('No wallet: read-only'));
  },
};

export const Locked: Story = {
  name: 'Wallet locked',
  loaders: [async () => ({ ds: await fixture(), wallet: await wallet({ unlocked: false }) })],
  play: async ({ canvasElement }) => {
    const el = provider(canvasElement);
    await until('the connect button', () => button(el, 'Connect wallet'));
    await until('the locked status', () => status(el).includes('locked'));
  },
};

export const Connected: Story = {
  name: 'Wallet connected, not signed in',
  loaders: [async () => ({ ds: await fixture(), wallet: await wallet() })],
  play: async ({ canvasElement }) => {
    const el = provider(canvasElement);
    await until('the sign-in button', () => button(el, 'Sign in'));
  },
};

export const WrongNetwork: Story = {
  name: 'Wrong network',
  loaders: [async () => ({ ds: await fixture(), wallet: await wallet({ chainId: 1 }) })],
  play: async ({ canvasElement }) => {
    const el = provider(canvasElement);
    await until('the switch-network button', () => button(el, 'Switch network'));
    await until('the wrong-network status', () => status(el).includes('another network'));
  },
};

export const Rejected: Story = {
  name: 'Sign-in rejected in the wallet',
  loaders: [
    async () => {
      const w = await wallet();
      w.rejectNext();
      return { ds: await fixture(), wallet: w };
    },
  ],
  play: async ({ canvasElement }) => {
    const el = provider(canvasElement);
    (await until('the sign-in button', () => button(el, 'Sign in'))).click();
    await until('the rejection explained', () => shadowText(el).includes('rejected'));
  },
};

export const Dark: Story = {
  name: 'Signed in, dark theme',
  globals: { theme: 'dark' },
  loaders: [
    async () => ({
      ds: await fixture('tiny-clemente-kreiger.json', { signInAs: 'doctor' }),
      wallet: await wallet(),
    }),
  ],
  play: async ({ canvasElement }) => {
    const el = provider(canvasElement);
    (await until('the sign-in button', () => button(el, 'Sign in'))).click();
    await until('signed in as doctor', () => status(el).includes('Signed in as doctor'));
    const viewer = el.querySelector('ehr-viewer')!;
    await until('the record inside, verified', () =>
      inShadow(viewer, '[part="badge"][data-state="verified"]'),
    );
  },
};
