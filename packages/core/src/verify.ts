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

type Prepared = { ok: true; hash: Hex; leafHex: Hex } | { ok: false; result: VerificationResult };

async function prepare(input: VerifyRecordInput): Promise<Prepared> {
  const { resource, leaf } = input;
  let hash: Hex;
  let leafHex: Hex;
  try {
    assertFhirResource(resource);
    leafHex = leafHash(leaf);
    hash = await contentHash(resource);
  } catch (error) {
    return { ok: false, result: { status: 'tampered', reason: 'malformed', detail: (error as Error).message } };
  }
  if (hash !== leaf.contentHash.toLowerCase()) {
    return { ok: false, result: { status: 'tampered', reason: 'content-changed', detail: `content hash ${hash} differs from the anchored ${leaf.contentHash}` } };
  }
  const versionId = resource.meta?.versionId;
  if (resource.resourceType !== leaf.resourceType || resource.id !== leaf.resourceId || (versionId !== undefined && versionId !== leaf.versionId)) {
    return { ok: false, result: { status: 'tampered', reason: 'identity-mismatch', detail: 'resource type, id or version differ from the leaf' } };
  }
  return { ok: true, hash, leafHex };
}

async function finish(
  input: VerifyRecordInput,
  prepared: Prepared,
  proofOk: (leafHex: Hex) => boolean,
  anchored: (root: Hex) => Promise<boolean>,
): Promise<VerificationResult> {
  if (!prepared.ok) return prepared.result;
  if (!proofOk(prepared.leafHex)) {
    return { status: 'tampered', reason: 'proof-invalid', detail: 'the proof does not lead from the leaf to the root' };
  }
  if (!(await anchored(input.root))) return { status: 'tampered', reason: 'root-unknown', detail: `root ${input.root} is not anchored` };
  return { status: 'verified', leafHash: prepared.leafHex, contentHash: prepared.hash };
}

async function askAnchored(input: VerifyRecordInput, root: Hex): Promise<boolean> {
  return typeof input.anchored === 'function' ? Boolean(await input.anchored(root)) : input.anchored;
}

/**
 * Proves a displayed FHIR resource is exactly what a hospital anchored: its canonical content
 * hashes to the leaf's `contentHash`, its identity matches the leaf, the leaf's proof leads to
 * `root`, and `root` is anchored. Runs in Node and the browser (WebCrypto only).
 */
export async function verifyRecord(input: VerifyRecordInput): Promise<VerificationResult> {
  const prepared = await prepare(input);
  return finish(input, prepared, (leafHex) => verifyProof(leafHex, input.proof, input.root), (root) => askAnchored(input, root));
}

/**
 * {@link verifyRecord} for a list (a record view): content hashes run concurrently and each
 * distinct root's `anchored` function is asked once (a chain read per batch, not per record).
 * Results are in input order and equal verifyRecord's one by one.
 */
export async function verifyRecords(inputs: readonly VerifyRecordInput[]): Promise<VerificationResult[]> {
  const prepared = await Promise.all(inputs.map(prepare));
  const anchoredByRoot = new Map<string, Promise<boolean>>();
  return Promise.all(
    inputs.map((input, i) => {
      const root = typeof input.root === 'string' ? input.root.toLowerCase() : '';
      return finish(
        input,
        prepared[i]!,
        (leafHex) => verifyProof(leafHex, input.proof, input.root),
        (r) => {
          // One question per root and answer source (a boolean is per input, so not shared).
          if (typeof input.anchored === 'boolean') return Promise.resolve(input.anchored);
          let answer = anchoredByRoot.get(root);
          if (!answer) {
            answer = askAnchored(input, r);
            anchoredByRoot.set(root, answer);
          }
          return answer;
        },
      );
    }),
  );
}
