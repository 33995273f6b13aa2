import { assertFhirResource, contentDigestOfResource, type FhirResourceLike } from './canonical.js';
import { toHex, memoryEqualsHex32, memoryHex32, type Hex } from './hex.js';
import { DIGEST } from './sha256-wasm.js';
import { keccakWasm, STATE } from './keccak-wasm.js';
import { leafHash, leafHashToState, type LeafInput } from './leaf.js';
import { ProofMemo, proofFromState, proofFromStateShared, verifyProof } from './merkle.js';

/** Why a record failed verification. */
export type TamperReason =
  /** The resource's canonical hash differs from the anchored `contentHash`. */
  | 'content-changed'
  /** The resource's type, id or `meta.versionId` differ from the leaf's. */
  | 'identity-mismatch'
  /** The proof does not lead from the leaf to the root. */
  | 'proof-invalid'
  /** The root is not anchored on chain (by this hospital). */
  | 'root-unknown'
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
   * Whether `root` is anchored: a boolean already looked up, or a function that asks the chain
   * (called only once everything else checks out).
   */
  anchored: boolean | ((root: Hex) => boolean | Promise<boolean>);
}

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
    return finishCheck(resource, leaf, leafHex, hash, proofOk);
  }
  return pending.then(
    (digest) => finishCheck(resource, leaf, leafHex, toHex(new Uint8Array(digest)), proofOk),
    malformed,
  );
}

function malformed(error: unknown): VerificationResult {
  return { status: 'tampered', reason: 'malformed', detail: (error as Error).message };
}

function finishCheck(
  resource: FhirResourceLike,
  leaf: LeafInput,
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
  anchored: (root: Hex) => boolean | Promise<boolean>,
): VerificationResult | Promise<VerificationResult> {
  if ('status' in checked) return checked;
  const verified: VerificationResult = {
    status: 'verified',
    leafHash: checked.leafHex,
    contentHash: checked.hash,
  };
  const rootUnknown: VerificationResult = {
    status: 'tampered',
    reason: 'root-unknown',
    detail: `root ${input.root} is not anchored`,
  };
  const answer = anchored(input.root);
  if (typeof answer === 'boolean') return answer ? verified : rootUnknown;
  return Promise.resolve(answer).then((ok) => (ok ? verified : rootUnknown));
}

/**
 * Proves a displayed FHIR resource is exactly what a hospital anchored: its canonical content
 * hashes to the leaf's `contentHash`, its identity matches the leaf, the leaf's proof leads to
 * `root`, and `root` is anchored. Runs in Node and the browser (WebCrypto only).
 */
export function verifyRecord(input: VerifyRecordInput): Promise<VerificationResult> {
  // Not an async function: a record checked synchronously resolves without an extra await hop.
  try {
    const anchored = input.anchored;
    const ask = typeof anchored === 'function' ? anchored : anchored ? ALWAYS : NEVER;
    const checked = checkRecord(input);
    if (checked instanceof Promise) return checked.then((c) => decide(input, c, ask));
    return Promise.resolve(decide(input, checked, ask));
  } catch (error) {
    return Promise.reject(error as Error);
  }
}

/**
 * {@link verifyRecord} for a list (a record view): records hashed by WebCrypto run concurrently and
 * each distinct root's `anchored` function is asked once (a chain read per batch, not per record).
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
  const anchoredByRoot = new Map<string, Promise<boolean>>();
  const results = new Array<VerificationResult | Promise<VerificationResult>>(n);
  let later = false;
  for (let i = 0; i < n; i++) {
    const input = inputs[i]!;
    const anchored = input.anchored;
    const result =
      typeof anchored === 'boolean'
        ? decide(input, checked[i]!, anchored ? ALWAYS : NEVER)
        : decide(input, checked[i]!, (root) => {
            const key = String(root).toLowerCase();
            let answer = anchoredByRoot.get(key);
            if (!answer) {
              answer = Promise.resolve(anchored(root)).then(Boolean);
              anchoredByRoot.set(key, answer);
            }
            return answer;
          });
    if (result instanceof Promise) later = true;
    results[i] = result;
  }
  return later ? Promise.all(results) : (results as VerificationResult[]);
}

const ALWAYS = (): boolean => true;
const NEVER = (): boolean => false;
