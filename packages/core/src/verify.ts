import { assertFhirResource, contentHash } from './canonical.js';
import type { Hex } from './hex.js';
import { leafHash, type LeafInput } from './leaf.js';
import { verifyProof } from './merkle.js';

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

/**
 * Everything but the chain question, with the proof checked while WebCrypto computes the content
 * hash (the digest runs off the JavaScript thread). Reasons keep their documented order.
 */
async function checkRecord(input: VerifyRecordInput): Promise<VerificationResult | { leafHex: Hex; hash: Hex }> {
  const { resource, leaf, proof, root } = input;
  let leafHex: Hex;
  let pendingHash: Promise<Hex>;
  try {
    assertFhirResource(resource);
    leafHex = leafHash(leaf);
    pendingHash = contentHash(resource);
  } catch (error) {
    return { status: 'tampered', reason: 'malformed', detail: (error as Error).message };
  }
  const proofOk = verifyProof(leafHex, proof, root);
  let hash: Hex;
  try {
    hash = await pendingHash;
  } catch (error) {
    return { status: 'tampered', reason: 'malformed', detail: (error as Error).message };
  }
  if (hash !== leaf.contentHash.toLowerCase()) {
    return { status: 'tampered', reason: 'content-changed', detail: `content hash ${hash} differs from the anchored ${leaf.contentHash}` };
  }
  const versionId = resource.meta?.versionId;
  if (resource.resourceType !== leaf.resourceType || resource.id !== leaf.resourceId || (versionId !== undefined && versionId !== leaf.versionId)) {
    return { status: 'tampered', reason: 'identity-mismatch', detail: 'resource type, id or version differ from the leaf' };
  }
  if (!proofOk) return { status: 'tampered', reason: 'proof-invalid', detail: 'the proof does not lead from the leaf to the root' };
  return { leafHex, hash };
}

async function decide(
  input: VerifyRecordInput,
  checked: VerificationResult | { leafHex: Hex; hash: Hex },
  anchored: (root: Hex) => boolean | Promise<boolean>,
): Promise<VerificationResult> {
  if ('status' in checked) return checked;
  if (!(await anchored(input.root))) return { status: 'tampered', reason: 'root-unknown', detail: `root ${input.root} is not anchored` };
  return { status: 'verified', leafHash: checked.leafHex, contentHash: checked.hash };
}

/**
 * Proves a displayed FHIR resource is exactly what a hospital anchored: its canonical content
 * hashes to the leaf's `contentHash`, its identity matches the leaf, the leaf's proof leads to
 * `root`, and `root` is anchored. Runs in Node and the browser (WebCrypto only).
 */
export async function verifyRecord(input: VerifyRecordInput): Promise<VerificationResult> {
  const anchored = input.anchored;
  return decide(input, await checkRecord(input), typeof anchored === 'function' ? anchored : () => anchored);
}

/**
 * {@link verifyRecord} for a list (a record view): content hashes run concurrently and each
 * distinct root's `anchored` function is asked once (a chain read per batch, not per record).
 * Results are in input order and equal verifyRecord's one by one.
 */
export async function verifyRecords(inputs: readonly VerifyRecordInput[]): Promise<VerificationResult[]> {
  const checked = await Promise.all(inputs.map(checkRecord));
  const anchoredByRoot = new Map<string, Promise<boolean>>();
  return Promise.all(
    inputs.map((input, i) =>
      decide(input, checked[i]!, (root) => {
        const anchored = input.anchored;
        if (typeof anchored === 'boolean') return anchored;
        const key = String(root).toLowerCase();
        let answer = anchoredByRoot.get(key);
        if (!answer) {
          answer = Promise.resolve(anchored(root)).then(Boolean);
          anchoredByRoot.set(key, answer);
        }
        return answer;
      }),
    ),
  );
}
