import { expect } from '@open-wc/testing';
import { DataSourceError } from '../data/data-source.js';
import { defaultErrorStrings as s, describeError } from './ehr-element.js';

describe('describeError: every error a person can see is a sentence for them', () => {
  it("never shows a library's message", () => {
    const ethers = new Error(
      'invalid BytesLike value (argument="value", value="0x12", code=INVALID_ARGUMENT, version=6.17.0)',
    );
    expect(describeError(ethers)).to.equal(s.unknown);
    expect(describeError(new TypeError('Failed to fetch'))).to.equal(s.unknown);
    expect(describeError('a string')).to.equal(s.unknown);
    const wrapped = new DataSourceError(
      'unknown',
      'missing revert data (action="estimateGas", code=CALL_EXCEPTION)',
    );
    expect(describeError(wrapped)).to.equal(s.unknown);
  });

  it("never shows a server's own diagnostics, but says what kind of refusal it was", () => {
    const validation = new DataSourceError('invalid', 'body/title must NOT have fewer than 1 characters', {
      status: 400,
    });
    expect(describeError(validation)).to.equal(s.invalid);
    expect(describeError(new DataSourceError('invalid', 'request body too large', { status: 413 }))).to.equal(
      s.fileTooLarge,
    );
    expect(describeError(new DataSourceError('invalid', 'unsupported media type', { status: 415 }))).to.equal(
      s.unsupportedType,
    );
    expect(describeError(new DataSourceError('unknown', 'rate limit exceeded', { status: 429 }))).to.equal(
      s.busy,
    );
    expect(describeError(new DataSourceError('unknown', 'upstream unavailable', { status: 503 }))).to.equal(
      s.unavailable,
    );
    expect(describeError(new DataSourceError('unknown', 'HTTP 500', { status: 500 }))).to.equal(s.unknown);
    expect(
      describeError(new DataSourceError('not-found', 'no such record seq 12', { status: 404 })),
    ).to.equal(s.notFound);
  });

  it('explains wallet, network and sign-in failures with what to do next', () => {
    expect(
      describeError(new DataSourceError('wallet-rejected', 'User rejected the request. (code 4001)')),
    ).to.equal(s.walletRejected);
    expect(describeError(new DataSourceError('wallet-locked', 'x'))).to.equal(s.walletLocked);
    expect(describeError(new DataSourceError('wrong-network', 'chain 1 != 1337'))).to.equal(s.wrongNetwork);
    expect(describeError(new DataSourceError('no-wallet', 'x'))).to.equal(s.noWallet);
    expect(
      describeError(new DataSourceError('network', 'The bridge at http://x could not be reached.')),
    ).to.equal(s.network);
    expect(describeError(new DataSourceError('unauthorized', 'missing or wrong credentials'))).to.equal(
      s.unauthorized,
    );
    expect(describeError(new DataSourceError('reverted', 'NotPatient(0xabc)'))).to.equal(s.reverted);
  });

  it('shows a message a data source wrote for people as it is', () => {
    const sentence =
      'Only a registered patient can give or change access, and your registration has not been approved yet.';
    expect(describeError(new DataSourceError('reverted', sentence, { forPeople: true }))).to.equal(sentence);
    expect(
      describeError(
        new DataSourceError('invalid', 'Choose at least one kind of record to share.', { forPeople: true }),
      ),
    ).to.equal('Choose at least one kind of record to share.');
    // A sign-in problem stays the element's own sentence, whatever the message.
    expect(describeError(new DataSourceError('forbidden', 'x', { forPeople: true }))).to.equal(s.forbidden);
  });

  it('uses the translated strings it is given', () => {
    expect(describeError(new Error('x'), { ...s, unknown: 'Etwas ist schiefgelaufen.' })).to.equal(
      'Etwas ist schiefgelaufen.',
    );
  });
});
