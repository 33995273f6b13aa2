import { defaultErrorStrings } from '../../internal/ehr-element.js';

/** Every user-visible string of `<ehr-provider>`, in one place for translation. */
export const ehrProviderStrings = {
  ...defaultErrorStrings,
  wallet: {
    'read-only': 'No wallet: read-only. Install or enable a wallet to sign in and make changes.',
    locked: 'Your wallet is locked or not connected.',
    connecting: 'Waiting for your wallet…',
    connected: 'Wallet connected',
    'wrong-network': 'Your wallet is on another network.',
    rejected: 'The request was rejected in your wallet.',
  },
  connect: 'Connect wallet',
  switchNetwork: 'Switch network',
  signIn: 'Sign in',
  signingIn: 'Sign the message in your wallet…',
  signingInTo: (hospitals: string[]) =>
    `Signing in to ${hospitals.length} hospitals (${hospitals.join(', ')}): your wallet asks you to sign once for each.`,
  signOut: 'Sign out',
  signedInAs: (role: string) => `Signed in as ${role}`,
  notConfigured:
    'Set rpc-url, chain-id and contract-address (and bridge-url for one hospital only), or a dataSource, on <ehr-provider>.',
  roles: {
    admin: 'network admin',
    hospital: 'hospital',
    doctor: 'doctor',
    patient: 'patient',
    visitor: 'visitor',
  },
};
export type EhrProviderStrings = typeof ehrProviderStrings;
