/**
 * Errors for people: every custom error of the EhrRegistry ABI (its own and OpenZeppelin's) as a
 * sentence for the patient, clinician or administrator who met it, and a decoder from whatever a
 * failed call throws (an ethers v6 error, an EIP-1193 wallet error, a JSON-RPC error object, or bare
 * revert data) to that sentence. Names of hospitals, doctors and staff are filled in when the caller
 * knows them; an address is never shown. Isomorphic: the elements use it in the browser.
 */
import { Interface } from 'ethers/abi';
import { id } from 'ethers/hash';
import { ehrRegistryAbi } from './generated/ehr-registry.js';

/** The name of a custom error of the EhrRegistry ABI. */
export type EhrRegistryErrorName = Extract<(typeof ehrRegistryAbi)[number], { type: 'error' }>['name'];

/** How a sentence names what the error's arguments point at. */
export interface ErrorWords {
  /**
   * The display name of an account (hospital, doctor, staff member, patient's wallet), if known;
   * otherwise `fallback` (e.g. "this doctor"). Never an address.
   */
  who(address: unknown, fallback: string): string;
  /** A Unix time (seconds) as a date and time in the reader's locale. */
  when(seconds: unknown): string;
}

/** The sentence of each custom error, from its decoded arguments (in ABI order). */
export type ContractErrorMessages = {
  readonly [K in EhrRegistryErrorName]: (args: readonly unknown[], words: ErrorWords) => string;
};

/** The role an `AccessControlUnauthorizedAccount` error names, in words. */
function roleName(role: unknown): string {
  const value = String(role).toLowerCase();
  if (/^0x0{64}$/.test(value)) return 'the administrator who manages roles';
  return value === id('NETWORK_ADMIN_ROLE') ? 'the network administrator' : 'an administrator';
}

/** Every custom error of the ABI, as a sentence. `who` fills in names; the caller is "you". */
export const CONTRACT_ERROR_MESSAGES: ContractErrorMessages = {
  AccessControlBadConfirmation: () => 'You can only give up a role for the account you are signed in with.',
  AccessControlUnauthorizedAccount: ([, role]) =>
    `Only ${roleName(role)} can do this, and you are signed in with another account.`,
  AccountInUse: ([account], w) =>
    `${w.who(account, 'This account')} already has a role in the network (hospital, bridge, doctor or staff member). Use another account.`,
  DoctorAlreadyRegistered: ([doctor, hospital], w) =>
    `${w.who(doctor, 'This doctor')} is already a doctor at ${w.who(hospital, 'a hospital')}.`,
  EmptyBatch: () => 'The batch to anchor has no records.',
  EmptyEndpointUrl: () => 'Enter the web address of the hospital’s bridge.',
  EmptyKeyWrappingKey: () => 'Enter the public key the hospital’s bridge encrypts data keys to.',
  EmptyManifestCid: () => 'The batch to anchor has no manifest.',
  EmptyName: () => 'Enter a name.',
  EmptyScope: () => 'Choose at least one kind of record to share.',
  EndpointUrlTooLong: ([length, max]) =>
    `The bridge’s web address is too long (${String(length)} characters; at most ${String(max)}).`,
  ExpiryNotInFuture: ([expiresAt], w) =>
    `The access would end on ${w.when(expiresAt)}, which is not in the future. Choose a later date.`,
  GrantNotFound: ([, grantee], w) =>
    `You have not given ${w.who(grantee, 'this doctor or hospital')} access, so there is nothing to revoke.`,
  HospitalAlreadyRegistered: ([hospital], w) =>
    `${w.who(hospital, 'This hospital')} is already part of the network.`,
  InvalidGrantee: ([grantee], w) =>
    `${w.who(grantee, 'This account')} is not a hospital or a doctor of the network (any more), so it cannot be given access.`,
  MerkleProofInvalidMultiproof: () =>
    'The proof sent for these records is malformed, so they cannot be checked.',
  NameTooLong: ([, max]) => `The name is too long: keep it under ${String(max)} characters.`,
  NoEndpointServices: () => 'Choose at least one service the bridge offers.',
  NoPendingRegistration: ([wallet], w) =>
    `There is no open registration request from ${w.who(wallet, 'this person')}; it may have been handled already.`,
  NotBridgeSigner: () =>
    'Only the bridge account of a hospital in the network can anchor records, and this is not one.',
  NotDoctorOfHospital: ([doctor, hospital], w) =>
    `${w.who(doctor, 'This account')} is not a doctor of ${w.who(hospital, 'your hospital')}.`,
  NotHospital: () =>
    'Only a hospital’s administrator account can do this, and you are signed in with another account.',
  NotPatient: () =>
    'Only a registered patient can give or change access, and your registration has not been approved yet.',
  NotStaffOfHospital: ([staff, hospital], w) =>
    `${w.who(staff, 'This account')} is not a staff member of ${w.who(hospital, 'your hospital')}.`,
  RegistrationAlreadyPending: ([, hospital], w) =>
    `You have already asked ${w.who(hospital, 'this hospital')} to register you. Wait until it approves or rejects the request.`,
  RootAlreadyAnchored: () => 'This batch was anchored already.',
  StaffAlreadyRegistered: ([staff, hospital], w) =>
    `${w.who(staff, 'This person')} is already a staff member at ${w.who(hospital, 'a hospital')}.`,
  SubjectAlreadyBound: () =>
    'This patient record is already linked to a wallet. If it is not yours, contact the hospital.',
  UnknownHospital: ([hospital], w) =>
    `${w.who(hospital, 'This hospital')} is not part of the network (any more).`,
  ZeroAddress: () => 'An account address is missing: the zero address is not an account.',
  ZeroRoot: () => 'The batch to anchor has no Merkle root.',
  ZeroSubject: () => 'The patient to register is missing.',
};

export interface DescribeOptions {
  /** Display names of accounts, by address (any case), or a lookup function. */
  names?: Readonly<Record<string, string>> | ((address: string) => string | undefined);
  /** BCP 47 locale for dates (default: the runtime's). */
  locale?: string;
}

/** A decoded custom error and its sentence. */
export interface ContractErrorDescription {
  name: EhrRegistryErrorName;
  args: unknown[];
  message: string;
}

// Made on first use: importing this module costs nothing (no module-level work for bundlers to keep).
let registryInterface: Interface | undefined;

function wordsFor(options: DescribeOptions): ErrorWords {
  const { names, locale } = options;
  const lookup = (address: string): string | undefined => {
    if (!names) return undefined;
    if (typeof names === 'function') return names(address);
    const lower = address.toLowerCase();
    for (const [key, value] of Object.entries(names)) if (key.toLowerCase() === lower) return value;
    return undefined;
  };
  return {
    who: (address, fallback) => {
      const name = typeof address === 'string' ? lookup(address)?.trim() : undefined;
      return name || fallback;
    },
    when: (seconds) => {
      const value = Number(seconds);
      if (!Number.isFinite(value)) return 'that date';
      return new Intl.DateTimeFormat(locale, { dateStyle: 'long', timeStyle: 'short' }).format(
        new Date(value * 1000),
      );
    },
  };
}

/** The sentence for a custom error of the ABI, with names filled in from `options.names`. */
export function contractErrorMessage(
  name: EhrRegistryErrorName,
  args: readonly unknown[] = [],
  options: DescribeOptions = {},
): string {
  return CONTRACT_ERROR_MESSAGES[name](args, wordsFor(options));
}

const HEX = /^0x[0-9a-fA-F]*$/;

/**
 * Every candidate revert data string in `error`, nearest first: `data` (a string, or an object with a
 * `data` string, as nodes and wallets nest it), then nested `error`, `info.error`, `cause`,
 * `originalError` and `revert`, then `0x…` runs inside messages ("execution reverted: custom error 0x…").
 */
function revertDataCandidates(error: unknown): string[] {
  const out: string[] = [];
  const seen = new Set<unknown>();
  const visit = (value: unknown, depth: number): void => {
    if (depth > 6 || value === null || value === undefined || seen.has(value)) return;
    if (typeof value === 'string') {
      if (HEX.test(value) && value.length >= 10) out.push(value);
      return;
    }
    if (typeof value !== 'object') return;
    seen.add(value);
    const o = value as Record<string, unknown>;
    visit(o.data, depth + 1);
    for (const key of ['error', 'info', 'cause', 'originalError', 'revert'])
      if (o[key] && typeof o[key] === 'object') visit(o[key], depth + 1);
    for (const key of ['message', 'shortMessage', 'reason'])
      if (typeof o[key] === 'string')
        for (const match of (o[key] as string).matchAll(/0x[0-9a-fA-F]{8,}/g)) out.push(match[0]);
  };
  visit(error, 0);
  return out;
}

/**
 * Decodes a failed call's custom error — from an ethers v6 error, a wallet's EIP-1193 error, a JSON-RPC
 * error object, or revert data (`0x…`) — and returns it with its sentence; `undefined` when `error`
 * carries no custom error of this ABI (a network failure, a wallet rejection, another contract's error).
 */
export function describeContractError(
  error: unknown,
  options: DescribeOptions = {},
): ContractErrorDescription | undefined {
  for (const data of revertDataCandidates(error)) {
    let parsed: ReturnType<Interface['parseError']>;
    try {
      registryInterface ??= new Interface(ehrRegistryAbi);
      parsed = registryInterface.parseError(data);
    } catch {
      continue;
    }
    if (!parsed) continue;
    const name = parsed.name as EhrRegistryErrorName;
    if (!(name in CONTRACT_ERROR_MESSAGES)) continue;
    const args = [...parsed.args] as unknown[];
    return { name, args, message: contractErrorMessage(name, args, options) };
  }
  return undefined;
}
