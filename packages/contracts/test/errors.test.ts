/**
 * Errors for people: every custom error of the ABI has a sentence (names filled in, no address, no
 * library text), and `describeContractError` finds the custom error in whatever a failed call throws —
 * real ethers v6 errors from anvil, wallet and JSON-RPC error shapes, bare revert data — and nothing in
 * errors that carry none.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CONTRACT_ERROR_MESSAGES,
  NO_EXPIRY,
  contractErrorMessage,
  describeContractError,
  ehrRegistryAbi,
  type EhrRegistryErrorName,
} from '@ehr-anchor/contracts';
import { Wallet, keccak256, toUtf8Bytes } from 'ethers';
import { NAMES, extraKey, registryInterface, setUpNetwork, startChain, type Chain } from './fixture.js';

const abiErrors = ehrRegistryAbi.filter((e) => e.type === 'error');

/** Sample arguments of an error's inputs, by ABI type. */
function sampleArgs(inputs: readonly { type: string }[]): unknown[] {
  return inputs.map((input, i) => {
    if (input.type === 'address') return new Wallet(extraKey(`sample ${i}`)).address;
    if (input.type === 'bytes32') return keccak256(toUtf8Bytes(`sample ${i}`));
    if (input.type.startsWith('uint')) return 1_900_000_000n + BigInt(i);
    throw new Error(`no sample for ${input.type}`);
  });
}

describe('errors for people', () => {
  it('has a sentence for every custom error of the ABI, and none for errors it does not have', () => {
    const names = abiErrors.map((e) => e.name).sort();
    assert.deepEqual(Object.keys(CONTRACT_ERROR_MESSAGES).sort(), names);
    assert.ok(names.length >= 30, `the ABI has ${names.length} errors`);
  });

  for (const error of abiErrors) {
    it(`says ${error.name} as a sentence, with no address, hash or error name in it`, () => {
      const args = sampleArgs(error.inputs);
      const data = registryInterface.encodeErrorResult(error.name, args);
      const described = describeContractError(data);
      assert.equal(described?.name, error.name);
      const message = described!.message;
      assert.match(message, /^[A-Z].*[.]$/, message);
      assert.doesNotMatch(message, /0x[0-9a-fA-F]{4,}/, `no address or hash: ${message}`);
      assert.ok(!message.includes(error.name), `no error name: ${message}`);
      assert.doesNotMatch(message, /undefined|NaN|\[object/, message);
    });
  }

  it('fills in the names the caller knows, by address in any case or through a lookup', () => {
    const doctor = new Wallet(extraKey('named doctor')).address;
    const hospital = new Wallet(extraKey('named hospital')).address;
    const names = { [doctor.toLowerCase()]: NAMES.doctor, [hospital]: NAMES.hospital };
    assert.equal(
      contractErrorMessage('NotDoctorOfHospital', [doctor, hospital], { names }),
      `${NAMES.doctor} is not a doctor of ${NAMES.hospital}.`,
    );
    assert.equal(
      contractErrorMessage('StaffAlreadyRegistered', [doctor, hospital], {
        names: (a) => (a === hospital ? NAMES.otherHospital : undefined),
      }),
      `This person is already a staff member at ${NAMES.otherHospital}.`,
    );
    assert.equal(
      contractErrorMessage('NotDoctorOfHospital', [doctor, hospital]),
      'This account is not a doctor of your hospital.',
    );
  });

  it('names the role an administrator lacks, and dates an expiry in the reader’s locale', () => {
    const account = new Wallet(extraKey('someone')).address;
    assert.equal(
      contractErrorMessage('AccessControlUnauthorizedAccount', [
        account,
        keccak256(toUtf8Bytes('NETWORK_ADMIN_ROLE')),
      ]),
      'Only the network administrator can do this, and you are signed in with another account.',
    );
    assert.match(
      contractErrorMessage('AccessControlUnauthorizedAccount', [account, '0x' + '00'.repeat(32)]),
      /^Only the administrator who manages roles can do this/,
    );
    const message = contractErrorMessage('ExpiryNotInFuture', [1_700_000_000n], { locale: 'en-GB' });
    assert.match(message, /November 2023/);
    assert.ok(!message.includes('1700000000'));
  });

  describe('decoding what a failed call throws', () => {
    let chain: Chain;
    before(async () => {
      chain = await startChain();
      await setUpNetwork(chain);
    });
    after(() => chain.stop());

    const notPatient = (address: string) => ['NotPatient', address];

    it('decodes the custom error of a refused transaction from ethers v6 (send and staticCall)', async () => {
      const { stranger, doctor } = chain.actors;
      const grant = stranger.registry.getFunction('grantAccess');
      const sent = await grant(doctor.address, 1, NO_EXPIRY).catch((e: unknown) => e);
      const statically = await grant.staticCall(doctor.address, 1, NO_EXPIRY).catch((e: unknown) => e);
      for (const error of [sent, statically]) {
        const d = describeContractError(error);
        assert.deepEqual([d?.name, ...(d?.args ?? [])], notPatient(stranger.address));
        assert.equal(
          d?.message,
          'Only a registered patient can give or change access, and your registration has not been approved yet.',
        );
      }
      chain.actors.stranger.signer.reset();
    });

    it('decodes the JSON-RPC error of a raw eth_call, and the shapes wallets nest it in', async () => {
      const { stranger, doctor } = chain.actors;
      const data = registryInterface.encodeFunctionData('grantAccess', [doctor.address, 1, NO_EXPIRY]);
      // The raw JSON-RPC reply, as the elements' chain client receives it.
      const reply = await fetch(chain.anvil.rpcUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'eth_call',
          params: [{ from: stranger.address, to: chain.registryAddress, data }, 'latest'],
        }),
      });
      const rpcError = ((await reply.json()) as { error: unknown }).error;
      const revert = registryInterface.encodeErrorResult('NotPatient', [stranger.address]);
      const shapes: [string, unknown][] = [
        ['the node’s JSON-RPC error', rpcError],
        ['revert data', revert],
        ['a JSON-RPC error object', { code: 3, message: 'execution reverted', data: revert }],
        [
          'MetaMask’s nesting',
          { code: -32603, message: 'Internal JSON-RPC error.', data: { code: 3, data: revert } },
        ],
        ['ethers’ info.error', { code: 'CALL_EXCEPTION', info: { error: { code: 3, data: revert } } }],
        ['an Error’s cause', new Error('wrapped', { cause: { data: { originalError: { data: revert } } } })],
        ['a message only', new Error(`execution reverted: custom error ${revert}`)],
      ];
      for (const [shape, error] of shapes) {
        const d = describeContractError(error);
        assert.deepEqual([d?.name, ...(d?.args ?? [])], notPatient(stranger.address), shape);
      }
    });

    it('finds nothing in errors without a custom error of this contract', () => {
      const otherSelector = keccak256(toUtf8Bytes('SomeoneElsesError()')).slice(0, 10);
      for (const error of [
        new TypeError('fetch failed'),
        { code: 4001, message: 'User rejected the request.' },
        { code: 'ACTION_REJECTED', info: { error: { code: 4001 } } },
        otherSelector,
        `${otherSelector}${'00'.repeat(32)}`,
        '0x',
        'not hex',
        null,
        undefined,
        42,
      ])
        assert.equal(describeContractError(error), undefined, String(error));
    });

    it('gives every refusal a sentence naming the people involved when the caller passes names', async () => {
      const { otherHospital, doctor } = chain.actors;
      const error = await otherHospital.registry
        .getFunction('removeDoctor')
        .staticCall(doctor.address)
        .catch((e: unknown) => e);
      const names = { [doctor.address]: NAMES.doctor, [otherHospital.address]: NAMES.otherHospital };
      assert.equal(
        describeContractError(error, { names })?.message,
        `${NAMES.doctor} is not a doctor of ${NAMES.otherHospital}.`,
      );
    });
  });

  it('types the table by the ABI: a missing error name does not compile', () => {
    // Compile-time check, kept visible: the table's type lists every error of the ABI.
    const name: EhrRegistryErrorName = 'NotStaffOfHospital';
    assert.equal(typeof CONTRACT_ERROR_MESSAGES[name], 'function');
  });
});
