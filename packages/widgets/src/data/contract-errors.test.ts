import { expect } from '@open-wc/testing';
import { Interface } from 'ethers/abi';
import {
  CONTRACT_ERROR_MESSAGES,
  contractErrorMessage,
  ehrRegistryAbi,
  type EhrRegistryErrorName,
} from '@ehr-anchor/contracts';
import { defaultErrorStrings, describeError } from '../internal/ehr-element.js';
import { ChainClient } from './chain-client.js';

/** A plausible value for each ABI type (addresses and hashes nobody owns). */
function sample(type: string): unknown {
  if (type === 'address') return '0x00000000000000000000000000000000000000a1';
  if (type === 'bytes32') return `0x${'ab'.repeat(32)}`;
  if (type === 'bool') return true;
  if (type === 'string') return 'x';
  if (type === 'bytes') return '0x01';
  if (type.startsWith('uint') || type.startsWith('int')) return 42n;
  throw new Error(`no sample for ${type}`);
}

describe('contract errors on screen: every custom error of the EhrRegistry ABI', () => {
  const iface = new Interface(ehrRegistryAbi);
  const client = new ChainClient({
    rpcUrl: 'http://chain.invalid',
    chainId: 1337,
    address: `0x${'00'.repeat(20)}`,
    abi: ehrRegistryAbi,
  });
  const errors = ehrRegistryAbi.filter((e) => e.type === 'error');

  it('has a sentence in the contracts’ table for each', () => {
    expect(errors.length).to.be.greaterThan(20);
    for (const e of errors) expect(CONTRACT_ERROR_MESSAGES, e.name).to.have.property(e.name);
  });

  for (const e of errors)
    it(`${e.name}: the wallet's and the node's revert reach the person as its sentence, never its name`, () => {
      const args = e.inputs.map((i) => sample(i.type));
      const data = iface.encodeErrorResult(e.name, args);
      const expected = contractErrorMessage(e.name as EhrRegistryErrorName, args);
      // As a node answers eth_call / eth_estimateGas, and as a wallet wraps it (EIP-1193).
      for (const thrown of [
        { code: 3, message: 'execution reverted', data },
        { code: -32603, message: 'Internal JSON-RPC error.', data: { code: 3, data } },
      ]) {
        const shown = describeError(client.decodeError(thrown), defaultErrorStrings);
        expect(shown).to.equal(expected);
        expect(shown).not.to.contain(e.name);
        expect(shown).not.to.match(/0x[0-9a-f]{8,}/i);
      }
    });

  it("says the network refused the change when the revert is not the registry's", () => {
    const shown = describeError(
      client.decodeError({ code: 3, message: 'execution reverted', data: '0xdeadbeef' }),
    );
    expect(shown).to.equal(defaultErrorStrings.unknown);
    expect(describeError(client.decodeError({ code: 4001, message: 'User rejected the request.' }))).to.equal(
      defaultErrorStrings.walletRejected,
    );
  });
});
