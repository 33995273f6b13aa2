import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  addRecipient,
  describeEnvelopeHeader,
  envelopeHeaderSchema,
  envelopeOverhead,
  envelopeRecipients,
  EnvelopeError,
  generateHospitalKey,
  generateRecipientKeyPair,
  openEnvelope,
  parseEnvelopeHeader,
  recipientPublicKey,
  recordAad,
  removeRecipients,
  sealEnvelope,
} from '../src/index.js';

const aad = recordAad({ resourceType: 'Observation', resourceId: 'obs-1', versionId: '2' });
const plaintext = new TextEncoder().encode('{"resourceType":"Observation","id":"obs-1","status":"final"}');

async function rejects(promise: Promise<unknown>, code: string) {
  await assert.rejects(promise, (error: unknown) => error instanceof EnvelopeError && error.code === code);
}

describe('envelope', () => {
  it('opens with the hospital key and with an HPKE recipient key', async () => {
    const hospital = generateHospitalKey();
    const patient = await generateRecipientKeyPair();
    const sealed = await sealEnvelope({
      plaintext,
      aad,
      recipients: [hospital, recipientPublicKey(patient)],
    });
    assert.deepEqual(await openEnvelope(sealed, { aad, key: hospital }), plaintext);
    assert.deepEqual(await openEnvelope(sealed, { aad, key: patient }), plaintext);
    assert.equal(sealed.length, plaintext.length + envelopeOverhead([hospital, patient]));
  });

  it('never contains the plaintext and differs on every seal (fresh data key and nonce)', async () => {
    const hospital = generateHospitalKey();
    const a = await sealEnvelope({ plaintext, aad, recipients: [hospital] });
    const b = await sealEnvelope({ plaintext, aad, recipients: [hospital] });
    assert.notDeepEqual(a, b);
    assert.equal(Buffer.from(a).includes(Buffer.from('Observation')), false);
  });

  it('fails loudly with a wrong key of either kind', async () => {
    const hospital = generateHospitalKey();
    const patient = await generateRecipientKeyPair();
    const sealed = await sealEnvelope({
      plaintext,
      aad,
      recipients: [hospital, recipientPublicKey(patient)],
    });
    await rejects(openEnvelope(sealed, { aad, key: generateHospitalKey() }), 'no-recipient');
    await rejects(
      openEnvelope(sealed, { aad, key: { ...generateHospitalKey(), keyId: hospital.keyId } }),
      'unwrap-failed',
    );
    const stranger = await generateRecipientKeyPair();
    await rejects(openEnvelope(sealed, { aad, key: { ...stranger, keyId: patient.keyId } }), 'unwrap-failed');
  });

  it('refuses to seal for a hospital key that is not 32 bytes', async () => {
    const short = { ...generateHospitalKey(), secret: new Uint8Array(16) };
    await assert.rejects(sealEnvelope({ plaintext, aad, recipients: [short] }), TypeError);
  });

  it('fails loudly when opened as another record (AAD binds the identity)', async () => {
    const hospital = generateHospitalKey();
    const sealed = await sealEnvelope({ plaintext, aad, recipients: [hospital] });
    const other = recordAad({ resourceType: 'Observation', resourceId: 'obs-1', versionId: '3' });
    await rejects(openEnvelope(sealed, { aad: other, key: hospital }), 'unwrap-failed');
  });

  it('fails loudly on a flipped bit anywhere, for every recipient', async () => {
    const hospital = generateHospitalKey();
    const patient = await generateRecipientKeyPair();
    const sealed = await sealEnvelope({
      plaintext: plaintext.subarray(0, 8),
      aad,
      recipients: [hospital, recipientPublicKey(patient)],
    });
    for (let byte = 0; byte < sealed.length; byte++) {
      const bit = byte % 8;
      const bad = sealed.slice();
      bad[byte]! ^= 1 << bit;
      for (const key of [hospital, patient]) {
        await assert.rejects(
          openEnvelope(bad, { aad, key }),
          EnvelopeError,
          `byte ${byte} bit ${bit} ${key.kind}`,
        );
      }
    }
  });

  it('rejects truncated and foreign bytes as malformed', async () => {
    const hospital = generateHospitalKey();
    const sealed = await sealEnvelope({ plaintext, aad, recipients: [hospital] });
    for (const cut of [0, 3, 8, 50, sealed.length - plaintext.length - 17]) {
      await rejects(openEnvelope(sealed.subarray(0, cut), { aad, key: hospital }), 'malformed');
    }
    await rejects(openEnvelope(plaintext, { aad, key: hospital }), 'malformed');
  });

  it('adds a recipient without re-encrypting the content', async () => {
    const hospital = generateHospitalKey();
    const patient = await generateRecipientKeyPair();
    const sealed = await sealEnvelope({ plaintext, aad, recipients: [hospital] });
    await rejects(openEnvelope(sealed, { aad, key: patient }), 'no-recipient');
    const shared = await addRecipient(sealed, { aad, key: hospital, recipient: recipientPublicKey(patient) });
    assert.deepEqual(await openEnvelope(shared, { aad, key: patient }), plaintext);
    assert.deepEqual(await openEnvelope(shared, { aad, key: hospital }), plaintext);
    assert.deepEqual(shared.subarray(-plaintext.length - 16), sealed.subarray(-plaintext.length - 16));
    assert.deepEqual(
      envelopeRecipients(shared).map((r) => r.keyId),
      [hospital.keyId, patient.keyId],
    );
  });

  it('removing a recipient locks it out; removing all shreds the record', async () => {
    const hospital = generateHospitalKey();
    const patient = await generateRecipientKeyPair();
    const sealed = await sealEnvelope({
      plaintext,
      aad,
      recipients: [hospital, recipientPublicKey(patient)],
    });
    const revoked = await removeRecipients(sealed, { aad, key: hospital, keyIds: [patient.keyId] });
    await rejects(openEnvelope(revoked, { aad, key: patient }), 'no-recipient');
    assert.deepEqual(await openEnvelope(revoked, { aad, key: hospital }), plaintext);
    const shredded = await removeRecipients(sealed, {
      aad,
      key: patient,
      keyIds: [patient.keyId, hospital.keyId],
    });
    assert.equal(parseEnvelopeHeader(shredded).recipients.length, 0);
    for (const key of [hospital, patient])
      await rejects(openEnvelope(shredded, { aad, key }), 'no-recipient');
  });

  it('describes its header without keys, valid against the zod schema', async () => {
    const hospital = generateHospitalKey();
    const patient = await generateRecipientKeyPair();
    const sealed = await sealEnvelope({
      plaintext,
      aad,
      recipients: [hospital, recipientPublicKey(patient)],
    });
    const info = envelopeHeaderSchema.parse(describeEnvelopeHeader(sealed));
    assert.deepEqual(
      info.recipients.map((r) => [r.kind, r.keyId, r.encLength, r.wrappedLength]),
      [
        ['hospital', hospital.keyId, 0, 60],
        ['hpke', patient.keyId, 32, 48],
      ],
    );
    assert.equal(info.ciphertextLength, plaintext.length + 16);
    assert.equal(info.headerLength + info.ciphertextLength, sealed.length);
  });

  it('seals an empty plaintext and a 3 MiB document', async () => {
    const hospital = generateHospitalKey();
    for (const size of [0, 3 << 20]) {
      const data = new Uint8Array(size).map((_, i) => i & 0xff);
      const sealed = await sealEnvelope({ plaintext: data, aad, recipients: [hospital] });
      assert.deepEqual(await openEnvelope(sealed, { aad, key: hospital }), data);
    }
  });

  it('round-trips any plaintext and AAD for both kinds of key, and refuses any other AAD', async () => {
    const hospital = generateHospitalKey();
    const patient = await generateRecipientKeyPair();
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 4096 }),
        fc.string({ unit: 'grapheme' }),
        fc.string({ minLength: 1 }),
        async (data, recordAadText, suffix) => {
          const sealed = await sealEnvelope({
            plaintext: data,
            aad: recordAadText,
            recipients: [recipientPublicKey(patient), hospital],
          });
          for (const key of [hospital, patient]) {
            assert.deepEqual(await openEnvelope(sealed, { aad: recordAadText, key }), data);
            await rejects(openEnvelope(sealed, { aad: recordAadText + suffix, key }), 'unwrap-failed');
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
