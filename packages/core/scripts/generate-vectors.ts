/**
 * Writes test/vectors.json: inputs and the outputs every implementation must reproduce, computed
 * with REFERENCE implementations where one exists — node:crypto for SHA-256/HMAC, ethers'
 * AbiCoder for abi.encode, OpenZeppelin's StandardMerkleTree for leaves, roots and proofs, a real
 * Kubo daemon (`ipfs add --cid-version=1 --raw-leaves`) for CIDs — and the `canonicalize` package
 * (RFC 8785) for canonical JSON. Envelopes are sealed here with fixed keys; the checks open them.
 *
 *   npm run vectors -w packages/core
 */
import { createHash, createHmac } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { startKubo } from '@ehr-anchor/testkit';
import { AbiCoder } from 'ethers';
import {
  canonicalJson,
  cidForBytes,
  describeEnvelopeHeader,
  generateRecipientKeyPair,
  LEAF_TYPES,
  leafTuple,
  recipientPublicKey,
  recordAad,
  sealEnvelope,
  toHex,
  type Hex,
  type LeafInput,
} from '../src/index.js';
import { bytesOf, type Vectors } from '../test/vectors-suite.js';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const sha256Hex = (data: Uint8Array | string) =>
  ('0x' + createHash('sha256').update(data).digest('hex')) as Hex;

// Raw JSON text, so number spellings (1.50, 1e2) and key order reach JSON.parse untouched.
const resources: { name: string; json: string }[] = [
  {
    name: 'unicode names (accents, CJK, emoji ZWJ, RTL, escapes vs literal)',
    json: `{"resourceType":"Patient","id":"uni-1","name":[{"family":"Ångström-Müller","given":["Zoë","\\u00e9lodie","李小龙"]},{"text":"👩🏽‍⚕️ مريم"}],"gender":"female"}`,
  },
  {
    name: 'decimals 1.50 and 1e2 and other number spellings',
    json: `{"resourceType":"Observation","id":"dec-1","status":"final","code":{"text":"weight"},"valueQuantity":{"value":1.50,"unit":"kg"},"component":[{"valueQuantity":{"value":1e2}},{"valueQuantity":{"value":-0.0}},{"valueQuantity":{"value":0.000001}},{"valueQuantity":{"value":1E-7}},{"valueQuantity":{"value":123456789012345678901234}},{"valueQuantity":{"value":4.35}}]}`,
  },
  {
    name: 'extensions nested with values of several types',
    json: `{"resourceType":"Patient","id":"ext-1","extension":[{"url":"http://hl7.org/fhir/us/core/StructureDefinition/us-core-race","extension":[{"url":"ombCategory","valueCoding":{"system":"urn:oid:2.16.840.1.113883.6.238","code":"2106-3","display":"White"}},{"url":"text","valueString":"White"}]},{"url":"http://example.org/score","valueDecimal":2.50},{"url":"http://example.org/flag","valueBoolean":false}],"_birthDate":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/patient-birthTime","valueDateTime":"1970-01-01T08:30:00+01:00"}]},"birthDate":"1970-01-01"}`,
  },
  {
    name: 'contained resources (kept, including their own meta)',
    json: `{"resourceType":"ExplanationOfBenefit","id":"eob-1","contained":[{"resourceType":"ServiceRequest","id":"sr","status":"completed","intent":"order","subject":{"reference":"Patient/p"}},{"resourceType":"Coverage","id":"cov","meta":{"tag":[{"code":"t"}]},"status":"active","beneficiary":{"reference":"Patient/p"},"payor":[{"display":"Payer"}]}],"status":"active","referral":{"reference":"#sr"},"insurance":[{"focal":true,"coverage":{"reference":"#cov"}}],"total":[{"amount":{"value":129.16,"currency":"USD"}}]}`,
  },
  {
    name: 'big integers in strings (integer64) and a big number',
    json: `{"resourceType":"Observation","id":"big-1","status":"final","code":{"text":"count"},"valueInteger64":"9223372036854775807","extension":[{"url":"http://example.org/n","valueInteger64":"-9223372036854775808"},{"url":"http://example.org/raw","valueDecimal":12345678901234567890}]}`,
  },
  {
    name: 'key order A (meta and text present)',
    json: `{"resourceType":"Condition","id":"ord-1","meta":{"versionId":"4","lastUpdated":"2024-05-01T10:00:00Z"},"text":{"status":"generated","div":"<div xmlns=\\"http://www.w3.org/1999/xhtml\\">Flu</div>"},"clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},"code":{"coding":[{"system":"http://snomed.info/sct","code":"6142004","display":"Influenza"}]},"subject":{"reference":"Patient/p"}}`,
  },
  {
    name: 'key order B (same content, keys shuffled, no meta/text)',
    json: `{"subject":{"reference":"Patient/p"},"code":{"coding":[{"display":"Influenza","code":"6142004","system":"http://snomed.info/sct"}]},"clinicalStatus":{"coding":[{"code":"active","system":"http://terminology.hl7.org/CodeSystem/condition-clinical"}]},"id":"ord-1","resourceType":"Condition"}`,
  },
  {
    name: 'string escapes (quotes, backslash, control characters, U+2028, </script>)',
    json: `{"resourceType":"Basic","id":"esc-1","code":{"text":"a\\"b\\\\c\\u0001\\n\\t\\u2028</script>\\u007f€"}}`,
  },
];

const notResources = [
  { name: 'null', json: 'null' },
  { name: 'an array', json: '[{"resourceType":"Patient"}]' },
  { name: 'an object without resourceType', json: '{"id":"x"}' },
  { name: 'a numeric resourceType', json: '{"resourceType":1}' },
  { name: 'a string', json: '"Patient"' },
];

function deterministic(label: string): Hex {
  return sha256Hex(`ehr-anchor test vector ${label}`);
}

const leafInputs: { name: string; leaf: LeafInput }[] = [
  ['plain', 'Observation', 'obs-1', '1'],
  ['unicode id', 'Patient', 'pä-tïent-李-👩🏽‍⚕️', '12'],
  ['exactly 32-byte id', 'Condition', 'abcdefghijklmnopqrstuvwxyz012345', '1'],
  ['33-byte id', 'Condition', 'abcdefghijklmnopqrstuvwxyz0123456', '1'],
  ['64-char uuid id', 'Encounter', 'urn-uuid-0f2f4f6f-8f0f-4f2f-af4f-6f8f0f2f4f6f-0f2f4f6f8f0f2f4f', '3'],
  ['empty version', 'Basic', 'b', ''],
].map(([name, resourceType, resourceId, versionId], i) => ({
  name: name!,
  leaf: {
    subject: deterministic(`subject ${i}`),
    resourceType: resourceType!,
    resourceId: resourceId!,
    versionId: versionId!,
    contentHash: deterministic(`content ${i}`),
    payloadCid:
      i % 2
        ? 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku'
        : 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi',
    salt: deterministic(`salt ${i}`),
  },
}));

async function main() {
  const abi = AbiCoder.defaultAbiCoder();
  const vectors: Vectors = {
    description:
      'ehr-anchor core test vectors: generated by scripts/generate-vectors.ts with reference implementations (node:crypto, ethers AbiCoder, OpenZeppelin StandardMerkleTree, Kubo). Checked in Node and Chromium by test/vectors-suite.ts.',
    resources: resources.map((r) => {
      const canonical = canonicalJson(JSON.parse(r.json));
      return { ...r, canonical, contentHash: sha256Hex(Buffer.from(canonical, 'utf8')) };
    }),
    notResources,
    leaves: leafInputs.map(({ name, leaf }) => {
      const tuple = leafTuple(leaf);
      return {
        name,
        leaf,
        encoded: abi.encode([...LEAF_TYPES], tuple) as Hex,
        leafHash: StandardMerkleTree.of([tuple], [...LEAF_TYPES]).leafHash(tuple) as Hex,
      };
    }),
    pseudonyms: ['patient-1', 'Patient/😀', '0'].map((patientId, i) => {
      const key = deterministic(`pseudonym key ${i}`);
      return {
        key,
        patientId,
        pseudonym: ('0x' +
          createHmac('sha256', Buffer.from(key.slice(2), 'hex'))
            .update(patientId)
            .digest('hex')) as Hex,
      };
    }),
    trees: [],
    cids: [],
    envelopes: [],
    records: [],
  };

  // Trees over prefixes of 13 leaves (odd, even, powers of two), with OZ as the reference.
  const treeLeaves = Array.from({ length: 13 }, (_, i) =>
    leafTuple({ ...leafInputs[i % leafInputs.length]!.leaf, salt: deterministic(`tree salt ${i}`) }),
  );
  for (const n of [1, 2, 3, 4, 5, 8, 13]) {
    const oz = StandardMerkleTree.of(treeLeaves.slice(0, n), [...LEAF_TYPES]);
    const values = treeLeaves.slice(0, n);
    vectors.trees.push({
      leafHashes: values.map((v) => oz.leafHash(v) as Hex),
      root: oz.root as Hex,
      proofs: values.map((_, i) => oz.getProof(i) as Hex[]),
    });
  }

  // CIDs from a real Kubo.
  const kubo = await startKubo();
  const dir = await mkdtemp(join(tmpdir(), 'ehr-vectors-'));
  try {
    const specs: { size: number; chunkSize?: number; maxLinks?: number }[] = [
      { size: 0 },
      { size: 1 },
      { size: 1000 },
      { size: 262_143 },
      { size: 262_144 },
      { size: 262_145 },
      { size: 1_048_577 },
      { size: 3 * 1_048_576 },
      { size: 1_048_576, chunkSize: 1_048_576, maxLinks: 1024 },
      { size: 1_048_577, chunkSize: 1_048_576, maxLinks: 1024 },
    ];
    for (const [i, spec] of specs.entries()) {
      const seed = 1000 + i;
      const file = join(dir, `f${i}`);
      await writeFile(file, bytesOf(spec.size, seed));
      const args = ['add', '-Q', '--cid-version=1', '--raw-leaves'];
      if (spec.chunkSize) args.push(`--chunker=size-${spec.chunkSize}`, `--max-file-links=${spec.maxLinks}`);
      const cid = (await kubo.cli([...args, file])).trim();
      const ours = await cidForBytes(bytesOf(spec.size, seed), spec.chunkSize ? spec : {});
      if (ours !== cid)
        throw new Error(`cidForBytes disagrees with Kubo for ${JSON.stringify(spec)}: ${ours} vs ${cid}`);
      vectors.cids.push({
        ...spec,
        seed,
        cid,
        kubo: `ipfs ${args.join(' ')} (Kubo ${(await kubo.cli(['version', '-n'])).trim()})`,
      });
    }
  } finally {
    await kubo.stop();
    await rm(dir, { recursive: true, force: true });
  }

  // Envelopes with fixed, published test keys.
  const hospital = {
    kind: 'hospital' as const,
    keyId: deterministic('hospital key id').slice(0, 34) as Hex,
    secret: new Uint8Array(Buffer.from(deterministic('hospital secret').slice(2), 'hex')),
  };
  const patient = await generateRecipientKeyPair();
  const keys = [
    { kind: 'hospital' as const, keyId: hospital.keyId, secret: toHex(hospital.secret) },
    {
      kind: 'hpke' as const,
      keyId: patient.keyId,
      publicKey: toHex(patient.publicKey),
      privateKey: toHex(patient.privateKey),
    },
  ];
  for (const [name, text] of [
    ['of a FHIR resource', resources[0]!.json],
    ['of empty content', ''],
  ] as const) {
    const aad = recordAad({ resourceType: 'Patient', resourceId: 'uni-1', versionId: '1' });
    const plaintext = new TextEncoder().encode(text);
    const envelope = await sealEnvelope({
      plaintext,
      aad,
      recipients: [hospital, recipientPublicKey(patient)],
    });
    vectors.envelopes.push({
      name,
      aad,
      plaintext: toHex(plaintext),
      envelope: toHex(envelope),
      header: describeEnvelopeHeader(envelope),
      keys,
    });
  }

  // verifyRecord cases over one anchored batch.
  const batch = vectors.resources.slice(0, 4).map((r, i) => {
    const parsed = JSON.parse(r.json) as { resourceType: string; id: string };
    const leaf: LeafInput = {
      subject: deterministic(`record subject ${i}`),
      resourceType: parsed.resourceType,
      resourceId: parsed.id,
      versionId: '1',
      contentHash: r.contentHash,
      payloadCid: 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku',
      salt: deterministic(`record salt ${i}`),
    };
    return { json: r.json, leaf };
  });
  const oz = StandardMerkleTree.of(
    batch.map((b) => leafTuple(b.leaf)),
    [...LEAF_TYPES],
  );
  const root = oz.root as Hex;
  const proof = (i: number) => oz.getProof(i) as Hex[];
  const edited = batch[1]!.json.replace('1.50', '1.51');
  if (edited === batch[1]!.json) throw new Error('edit did not apply');
  // The reader expects each record's own subject and hospital A; the chain says hospital A anchored
  // the root unless a case says otherwise.
  const hospitalA = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
  const otherHospital = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC';
  const expect = (i: number) => ({
    subject: batch[i]!.leaf.subject,
    hospital: hospitalA,
    anchoredBy: hospitalA,
  });
  // A batch of one: the proof is empty, the leaf hash is the root.
  const single = StandardMerkleTree.of([leafTuple(batch[0]!.leaf)], [...LEAF_TYPES]);
  vectors.records.push(
    {
      name: 'anchored and unchanged',
      ...batch[0]!,
      proof: proof(0),
      root,
      ...expect(0),
      expected: { status: 'verified' },
    },
    {
      name: 'same value spelled differently (1.5 for 1.50)',
      json: batch[1]!.json.replace('1.50', '1.5'),
      leaf: batch[1]!.leaf,
      proof: proof(1),
      root,
      ...expect(1),
      expected: { status: 'verified' },
    },
    {
      name: 'a value edited',
      json: edited,
      leaf: batch[1]!.leaf,
      proof: proof(1),
      root,
      ...expect(1),
      expected: { status: 'tampered', reason: 'content-changed' },
    },
    {
      name: 'proof of another leaf',
      ...batch[2]!,
      proof: proof(3),
      root,
      ...expect(2),
      expected: { status: 'tampered', reason: 'proof-invalid' },
    },
    {
      name: 'root not anchored',
      ...batch[3]!,
      proof: proof(3),
      root,
      ...expect(3),
      anchoredBy: null,
      expected: { status: 'tampered', reason: 'root-unknown' },
    },
    {
      name: 'another patient’s genuine, anchored record shown as this patient’s',
      ...batch[2]!,
      proof: proof(2),
      root,
      ...expect(2),
      subject: batch[3]!.leaf.subject,
      expected: { status: 'tampered', reason: 'subject-mismatch' },
    },
    {
      name: 'root anchored by another hospital than the record’s',
      ...batch[3]!,
      proof: proof(3),
      root,
      ...expect(3),
      anchoredBy: otherHospital,
      expected: { status: 'tampered', reason: 'hospital-mismatch' },
    },
    {
      name: 'the expected hospital spelled in lowercase, the chain’s checksummed',
      ...batch[0]!,
      proof: proof(0),
      root,
      ...expect(0),
      hospital: hospitalA.toLowerCase(),
      expected: { status: 'verified' },
    },
    {
      name: 'a batch of one: empty proof, the leaf is the root',
      ...batch[0]!,
      proof: single.getProof(0) as Hex[],
      root: single.root as Hex,
      ...expect(0),
      expected: { status: 'verified' },
    },
  );

  await writeFile(join(packageDir, 'test', 'vectors.json'), JSON.stringify(vectors, null, 1) + '\n');
  console.log(
    `wrote test/vectors.json: ${vectors.resources.length} resources, ${vectors.leaves.length} leaves, ${vectors.trees.length} trees, ${vectors.cids.length} CIDs, ${vectors.envelopes.length} envelopes, ${vectors.records.length} records`,
  );
}

await main();
