import { contentHash } from './canonical.js';
import { assertFhirResource } from './canonical.js';
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
 * Proves a displayed FHIR resource is exactly what a hospital anchored: its canonical content
 * hashes to the leaf's `contentHash`, its identity matches the leaf, the leaf's proof leads to
 * `root`, and `root` is anchored. Runs in Node and the browser (WebCrypto only).
 */
export async function verifyRecord(input: VerifyRecordInput): Promise<VerificationResult> {
  const { resource, leaf, proof, root } = input;
  let hash: Hex;
  let leafHex: Hex;
  try {
    assertFhirResource(resource);
    hash = await contentHash(resource);
    leafHex = leafHash(leaf);
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
  if (!verifyProof(leafHex, proof, root)) {
    return { status: 'tampered', reason: 'proof-invalid', detail: 'the proof does not lead from the leaf to the root' };
  }
  const anchored = typeof input.anchored === 'function' ? await input.anchored(root) : input.anchored;
  if (!anchored) return { status: 'tampered', reason: 'root-unknown', detail: `root ${root} is not anchored` };
  return { status: 'verified', leafHash: leafHex, contentHash: hash };
}
