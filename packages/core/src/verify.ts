import { assertFhirResource, contentDigestOfResource, type FhirResourceLike } from './canonical.js';
import { isHex, toHex, memoryEqualsHex32, memoryHex32, type Hex } from './hex.js';
import { DIGEST } from './sha256-wasm.js';
import { keccakWasm, STATE } from './keccak-wasm.js';
import { leafHash, leafHashToState, type LeafInput } from './leaf.js';
import { buildTree, ProofMemo, proofFromState, proofFromStateShared, verifyProof } from './merkle.js';

/** Why a record failed verification. */
export type TamperReason =
  /** The resource's canonical hash differs from the anchored `contentHash`. */
  | 'content-changed'
  /** The resource's type, id or `meta.versionId` differ from the leaf's. */
  | 'identity-mismatch'
  /** The leaf is about another patient than the one expected (the patient on screen). */
  | 'subject-mismatch'
  /** The proof does not lead from the leaf to the root. */
  | 'proof-invalid'
  /** The root is not anchored on chain. */
  | 'root-unknown'
  /** The root is anchored, but by another hospital than the one the record is attributed to. */
  | 'hospital-mismatch'
  /** The input is not a FHIR resource or not a well-formed leaf. */
  | 'malformed';

export type VerificationResult =
  | { status: 'verified'; leafHash: Hex; contentHash: Hex }
  | { status: 'tampered'; reason: TamperReason; detail: string };

export interface VerifyRecordInput {
  /** The resource as shown to the user. */
  resource: unknown;
  /** The leaf the bridge says the resource was anchored under. */
  leaf: LeafInput;
  /** Sibling hashes from the leaf to the root. */
  proof: readonly Hex[];
  /** The batch root. */
  root: Hex;
  /**
   * The patient the record must be about: their pseudonym (bytes32), from a source the reader trusts
   * (the subjects bound to their wallet on chain, a verified Patient header), never from whoever
   * served the record. A leaf for any other subject is `subject-mismatch`.
   */
  subject: Hex;
  /**
   * The hospital the record is attributed to (its hospital of origin, a 20-byte address): the root
   * must have been anchored by it, else `hospital-mismatch`.
   */
  hospital: string;
  /**
   * Who anchored `root`, as the chain says (`anchorOf(root).hospital`): the hospital's address, or
   * null / undefined when the root was never anchored. A value already looked up, or a function that
   * asks the chain (called only once everything else checks out).
   */
  anchoredBy: AnchoredBy | ((root: Hex) => AnchoredBy | Promise<AnchoredBy>);
}

/** The hospital that anchored a root (a 20-byte address), or null / undefined for a root never anchored. */
export type AnchoredBy = string | null | undefined;

type Checked = VerificationResult | { leafHex: Hex; hash: Hex };

/**
 * Everything but the chain question. With the WebAssembly SHA-256 running (the usual case) this
 * is synchronous: no promise per record. Otherwise WebCrypto computes the content hash off the
 * JavaScript thread. The proof is checked first (while the leaf hash is still in WebAssembly
 * memory); the reasons keep their documented order all the same.
 */
function checkRecord(input: VerifyRecordInput, memo?: ProofMemo): Checked | Promise<Checked> {
  const { resource, leaf, proof, root } = input;
  let leafHex: Hex;
  let proofOk: boolean;
  let pending: Uint8Array | Promise<ArrayBuffer>;
  try {
    assertFhirResource(resource);
    expectation(input.subject, 32, 'the expected subject');
    expectation(input.hospital, 20, 'the expected hospital');
    // The proof is checked from the leaf hash where it was computed (WebAssembly memory) when it can be.
    const k = keccakWasm();
    if (k && leafHashToState(leaf)) {
      leafHex = memoryHex32(k.mem, STATE);
      proofOk = memo ? proofFromStateShared(k, proof, root, memo) : proofFromState(k, proof, root);
    } else {
      leafHex = leafHash(leaf);
      proofOk = verifyProof(leafHex, proof, root);
    }
    pending = contentDigestOfResource(resource);
  } catch (error) {
    return malformed(error);
  }
  if (pending instanceof Uint8Array) {
    // The digest is compared as bytes with the leaf's contentHash (valid hex: the leaf was just
    // encoded); its hex is made only for the message when they differ.
    const hash = memoryEqualsHex32(pending, DIGEST, leaf.contentHash)
      ? (leaf.contentHash.toLowerCase() as Hex)
      : memoryHex32(pending, DIGEST);
    return finishCheck(resource, leaf, input.subject, leafHex, hash, proofOk);
  }
  return pending.then(
    (digest) => finishCheck(resource, leaf, input.subject, leafHex, toHex(new Uint8Array(digest)), proofOk),
    malformed,
  );
}

/** Throws unless `value` is 0x-prefixed hex of `bytes` bytes (an expectation the caller got wrong is `malformed`). */
function expectation(value: unknown, bytes: number, what: string): void {
  if (!isHex(value, bytes)) throw new TypeError(`${what} must be a 0x-prefixed ${bytes}-byte hex string`);
}

function malformed(error: unknown): VerificationResult {
  return { status: 'tampered', reason: 'malformed', detail: (error as Error).message };
}

function finishCheck(
  resource: FhirResourceLike,
  leaf: LeafInput,
  subject: Hex,
  leafHex: Hex,
  hash: Hex,
  proofOk: boolean,
): Checked {
  if (hash !== leaf.contentHash && hash !== leaf.contentHash.toLowerCase()) {
    return {
      status: 'tampered',
      reason: 'content-changed',
      detail: `content hash ${hash} differs from the anchored ${leaf.contentHash}`,
    };
  }
  const versionId = resource.meta?.versionId;
  if (
    resource.resourceType !== leaf.resourceType ||
    resource.id !== leaf.resourceId ||
    (versionId !== undefined && versionId !== leaf.versionId)
  ) {
    return {
      status: 'tampered',
      reason: 'identity-mismatch',
      detail: 'resource type, id or version differ from the leaf',
    };
  }
  // Both are valid 32-byte hex here (the leaf was encoded, the expectation checked): case is all that may differ.
  if (leaf.subject.toLowerCase() !== subject.toLowerCase()) {
    return {
      status: 'tampered',
      reason: 'subject-mismatch',
      detail: `the record is about subject ${leaf.subject}, not the expected ${subject}`,
    };
  }
  if (!proofOk)
    return {
      status: 'tampered',
      reason: 'proof-invalid',
      detail: 'the proof does not lead from the leaf to the root',
    };
  return { leafHex, hash };
}

function decide(
  input: VerifyRecordInput,
  checked: Checked,
  anchoredBy: (root: Hex) => AnchoredBy | Promise<AnchoredBy>,
): VerificationResult | Promise<VerificationResult> {
  if ('status' in checked) return checked;
  const answer = anchoredBy(input.root);
  if (answer === null || answer === undefined || typeof answer === 'string')
    return onChain(input, checked, answer);
  return Promise.resolve(answer).then((by) => onChain(input, checked, by));
}

/** The verdict once the chain said who anchored the root. */
function onChain(
  input: VerifyRecordInput,
  checked: { leafHex: Hex; hash: Hex },
  by: AnchoredBy,
): VerificationResult {
  if (by === null || by === undefined || by === '')
    return { status: 'tampered', reason: 'root-unknown', detail: `root ${input.root} is not anchored` };
  if (typeof by !== 'string' || by.toLowerCase() !== input.hospital.toLowerCase())
    return {
      status: 'tampered',
      reason: 'hospital-mismatch',
      detail: `root ${input.root} was anchored by ${String(by)}, not by the expected hospital ${input.hospital}`,
    };
  return { status: 'verified', leafHash: checked.leafHex, contentHash: checked.hash };
}

/** A value already looked up, as a function. */
function constant(by: AnchoredBy): () => AnchoredBy {
  return () => by;
}

/**
 * Proves a displayed FHIR resource is exactly what the expected hospital anchored about the expected
 * patient: its canonical content hashes to the leaf's `contentHash`, its identity matches the leaf,
 * the leaf's subject is `subject`, the leaf's proof leads to `root`, and the chain says `root` was
 * anchored by `hospital`. Checks in that order; the first that fails is the reason. Runs in Node
 * and the browser.
 */
export function verifyRecord(input: VerifyRecordInput): Promise<VerificationResult> {
  // Not an async function: a record checked synchronously resolves without an extra await hop.
  try {
    const anchoredBy = input.anchoredBy;
    const ask = typeof anchoredBy === 'function' ? anchoredBy : constant(anchoredBy);
    const checked = checkRecord(input);
    if (checked instanceof Promise) return checked.then((c) => decide(input, c, ask));
    return Promise.resolve(decide(input, checked, ask));
  } catch (error) {
    return Promise.reject(error as Error);
  }
}

/**
 * {@link verifyRecord} for a list (a record view): records hashed by WebCrypto run concurrently and
 * each distinct root's `anchoredBy` function is asked once (a chain read per batch, not per record).
 * Results are in input order and equal verifyRecord's one by one.
 */
export async function verifyRecords(inputs: readonly VerifyRecordInput[]): Promise<VerificationResult[]> {
  // Records of one batch share their proofs' upper levels: walked once for the list.
  const memo = inputs.length > 1 ? new ProofMemo() : undefined;
  const n = inputs.length;
  const pending = new Array<Checked | Promise<Checked>>(n);
  let waiting = false;
  for (let i = 0; i < n; i++) {
    const c = checkRecord(inputs[i]!, memo);
    if (c instanceof Promise) waiting = true;
    pending[i] = c;
  }
  const checked = waiting ? await Promise.all(pending) : (pending as Checked[]);
  // One question per distinct (function, root): the same function asked about the same root once.
  const asked = new Map<(root: Hex) => AnchoredBy | Promise<AnchoredBy>, Map<string, Promise<AnchoredBy>>>();
  const results = new Array<VerificationResult | Promise<VerificationResult>>(n);
  let later = false;
  for (let i = 0; i < n; i++) {
    const input = inputs[i]!;
    const anchoredBy = input.anchoredBy;
    const result =
      typeof anchoredBy !== 'function'
        ? decide(input, checked[i]!, constant(anchoredBy))
        : decide(input, checked[i]!, (root) => {
            let byRoot = asked.get(anchoredBy);
            if (!byRoot) asked.set(anchoredBy, (byRoot = new Map()));
            const key = String(root).toLowerCase();
            let answer = byRoot.get(key);
            if (!answer) {
              answer = Promise.resolve(anchoredBy(root));
              byRoot.set(key, answer);
            }
            return answer;
          });
    if (result instanceof Promise) later = true;
    results[i] = result;
  }
  return later ? Promise.all(results) : (results as VerificationResult[]);
}

// ───────────────────────── warm-up (a page's first verification) ─────────────────────────

/** Records verified by the warm-up, in lists of {@link WARM_BATCH} (tuned with `npm run bench`: cold/warm rows). */
const WARM_RECORDS = 1536;
const WARM_BATCH = 64;

/** A synthetic record shaped like FHIR data (nested objects, arrays, escapes, non-ASCII, numbers); no PHI. */
function warmResource(i: number): { resourceType: string; id: string; [key: string]: unknown } {
  // Many object shapes (fields present or not, by the bits of i), as real records have: the engine
  // then optimizes for varied data instead of one shape it would have to give up on first real use.
  const r: { resourceType: string; id: string; [key: string]: unknown } = {
    resourceType: ['Observation', 'Condition', 'Encounter', 'Procedure', 'Immunization'][i % 5]!,
    id: `warm-up-${i}`,
    meta: { versionId: '1' },
  };
  const coding = { system: 'urn:ehr-anchor:warm-up', code: String(i), display: `Téster “${i}” ✓` };
  if (i & 1) r.status = 'final';
  if (i & 2) r.category = [{ coding: [{ ...coding, code: `c${i % 7}` }] }];
  r.code = i & 4 ? { coding: [coding], text: 'x\ny' } : { coding: [coding, { ...coding, code: 'b' }] };
  r.subject = { reference: `urn:uuid:00000000-0000-4000-8000-${String(i).padStart(12, '0')}` };
  if (i & 8) r.effectiveDateTime = '2020-01-01T00:00:00Z';
  else r.period = { start: '2020-01-01T00:00:00Z', end: '2020-01-02' };
  if (i & 16)
    r.valueQuantity = { value: 70.25 + i, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' };
  if (i & 32) r.component = [{ valueInteger: i, flag: i % 2 === 0, note: null }, { valueString: '\u00e9\t' }];
  if (i & 64) r.extension = [{ url: 'urn:ehr-anchor:warm-up', valueDecimal: 1e21 + i, valueBoolean: false }];
  if (i & 128) r.identifier = [{ system: 'urn:ehr-anchor:warm-up', value: `${i}`.repeat(20) }];
  return r;
}

/**
 * Runs the verification hot path (canonical writer, both WebAssembly hashes, leaf encoding, shared
 * proof walks) on synthetic records so that the engine has compiled and optimized it before a page
 * verifies its first real record: a fresh page's first `verifyRecords` then costs about what later
 * ones do. Yields to the event loop between lists (never blocks a page for long).
 */
async function warmUp(): Promise<void> {
  const k = keccakWasm();
  if (!k) return; // pure-JS fallback: no WebAssembly path to warm
  const subject = `0x${'11'.repeat(32)}` as Hex;
  const hospital = '0x0000000000000000000000000000000000000001';
  for (let done = 0; done < WARM_RECORDS; done += WARM_BATCH) {
    const resources = Array.from({ length: WARM_BATCH }, (_, j) => warmResource(done + j));
    const leaves: LeafInput[] = [];
    for (const [j, r] of resources.entries()) {
      const digest = contentDigestOfResource(r);
      leaves.push({
        subject,
        resourceType: r.resourceType,
        resourceId: r.id,
        versionId: '1',
        contentHash:
          digest instanceof Uint8Array ? memoryHex32(digest, DIGEST) : toHex(new Uint8Array(await digest)),
        payloadCid: 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku',
        salt: `0x${(done + j).toString(16).padStart(64, '0')}` as Hex,
      });
    }
    const tree = buildTree(leaves.map(leafHash));
    await verifyRecords(
      resources.map((resource, j) => ({
        resource,
        leaf: leaves[j]!,
        proof: tree.proof(j),
        root: tree.root,
        subject,
        hospital,
        anchoredBy: hospital,
      })),
    );
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}

let ready: Promise<void> | undefined;

/**
 * Resolves once the verification code is warm (see the warm-up above; it starts by itself when this
 * module loads in a browser page). Pages may await it before timing or showing their first verdicts;
 * verification is correct at any time, only slower before. Never rejects.
 */
export function verifierReady(): Promise<void> {
  ready ??= new Promise<void>((resolve) => setTimeout(resolve, 0)).then(warmUp).catch(() => undefined);
  return ready;
}

// A page starts warming up as soon as the verifier loads (after the current task: loading stays fast).
if (typeof (globalThis as { document?: unknown }).document !== 'undefined') void verifierReady();
