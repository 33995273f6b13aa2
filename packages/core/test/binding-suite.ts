/**
 * Property tests of what a verdict binds: a record verifies only when it is about the expected
 * patient (subject) AND its root was anchored by the expected hospital, on top of content, identity
 * and proof. Shared by Node (`binding.test.ts`) and Chromium (`browser/binding.browser.ts`), so the
 * browser's WebAssembly path and Node's agree on every case.
 */
import fc from 'fast-check';
import {
  buildTree,
  contentHash,
  leafHash,
  verifyRecord,
  verifyRecords,
  type Hex,
  type LeafInput,
  type VerificationResult,
  type VerifyRecordInput,
} from '../src/record.js';

export interface BindingCase {
  name: string;
  run(): Promise<void>;
}

const HOSPITALS = [
  '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
  '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC',
] as const;

function fixedHex(seed: number): Hex {
  return `0x${seed.toString(16).padStart(2, '0').repeat(32)}` as Hex;
}

/** Two patients' batches: patient p's records anchored in batch p (trees of 1 and 7 leaves: an empty proof too). */
async function world() {
  const subjects = [fixedHex(0xa1), fixedHex(0xb2)];
  const batches = [];
  for (let p = 0; p < 2; p++) {
    const size = p === 0 ? 1 : 7;
    const resources = Array.from({ length: size }, (_, i) => ({
      resourceType: 'Observation',
      id: `p${p}-o${i}`,
      meta: { versionId: '1' },
      status: 'final',
      valueQuantity: { value: 60 + i, unit: 'kg' },
    }));
    const leaves: LeafInput[] = [];
    for (const [i, r] of resources.entries()) {
      leaves.push({
        subject: subjects[p]!,
        resourceType: r.resourceType,
        resourceId: r.id,
        versionId: '1',
        contentHash: await contentHash(r),
        payloadCid: 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku',
        salt: fixedHex(16 * p + i + 1),
      });
    }
    batches.push({ resources, leaves, tree: buildTree(leaves.map(leafHash)) });
  }
  return { subjects, batches };
}

function outcome(r: VerificationResult): string {
  return r.status === 'verified' ? 'verified' : r.reason;
}

export function bindingCases(): BindingCase[] {
  return [
    {
      name: 'a genuine record verifies only for its own patient and the hospital that anchored it (property)',
      async run() {
        const { subjects, batches } = await world();
        const pick = fc.record({
          patient: fc.integer({ min: 0, max: 1 }),
          index: fc.nat(),
          expectSubject: fc.integer({ min: 0, max: 1 }),
          expectHospital: fc.integer({ min: 0, max: 1 }),
          // Who the chain says anchored the root: hospital 0 or 1, or nobody.
          anchoredBy: fc.constantFrom<0 | 1 | null>(0, 1, null),
          caseOf: fc.constantFrom('checksummed', 'lower', 'upper'),
          asked: fc.boolean(),
        });
        await fc.assert(
          fc.asyncProperty(fc.array(pick, { minLength: 1, maxLength: 12 }), async (picks) => {
            const spell = (address: string, c: string) =>
              c === 'lower'
                ? address.toLowerCase()
                : c === 'upper'
                  ? `0x${address.slice(2).toUpperCase()}`
                  : address;
            const inputs: VerifyRecordInput[] = picks.map((p) => {
              const { resources, leaves, tree } = batches[p.patient]!;
              const i = p.index % resources.length;
              const hospital = HOSPITALS[p.expectHospital]!;
              const by = p.anchoredBy === null ? null : HOSPITALS[p.anchoredBy];
              return {
                resource: resources[i],
                leaf: leaves[i]!,
                proof: tree.proof(i),
                root: tree.root,
                subject: subjects[p.expectSubject]!,
                hospital: spell(hospital, p.caseOf),
                anchoredBy: p.asked ? async () => by : by,
              };
            });
            const single: VerificationResult[] = [];
            for (const input of inputs) single.push(await verifyRecord(input));
            picks.forEach((p, k) => {
              const expected =
                p.expectSubject !== p.patient
                  ? 'subject-mismatch'
                  : p.anchoredBy === null
                    ? 'root-unknown'
                    : p.anchoredBy !== p.expectHospital
                      ? 'hospital-mismatch'
                      : 'verified';
              if (outcome(single[k]!) !== expected)
                throw new Error(`pick ${JSON.stringify(p)}: ${outcome(single[k]!)}, expected ${expected}`);
            });
            const listed = await verifyRecords(inputs);
            if (JSON.stringify(listed) !== JSON.stringify(single))
              throw new Error('verifyRecords differs from verifyRecord one by one');
          }),
          { numRuns: 150 },
        );
      },
    },
    {
      name: 'content, identity and proof are checked before the patient and the hospital (reasons in order)',
      async run() {
        const { subjects, batches } = await world();
        const { resources, leaves, tree } = batches[1]!;
        const base = {
          leaf: leaves[2]!,
          proof: tree.proof(2),
          root: tree.root,
          subject: subjects[0]!, // another patient
          hospital: HOSPITALS[0],
          anchoredBy: HOSPITALS[1], // and another hospital
        };
        const edited = await verifyRecord({ ...base, resource: { ...resources[2]!, status: 'amended' } });
        const otherVersion = await verifyRecord({
          ...base,
          resource: { ...resources[2]!, meta: { versionId: '2' } },
        });
        const wrongPatient = await verifyRecord({ ...base, resource: resources[2] });
        const rightPatient = await verifyRecord({ ...base, resource: resources[2], subject: subjects[1]! });
        const got = [edited, otherVersion, wrongPatient, rightPatient].map(outcome).join(',');
        if (got !== 'content-changed,identity-mismatch,subject-mismatch,hospital-mismatch')
          throw new Error(got);
      },
    },
  ];
}
