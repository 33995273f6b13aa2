/**
 * `@ehr-anchor/core/record`: the record model and its verification without the envelope (HPKE)
 * and CID (UnixFS importer) modules — the slice a page that only verifies records needs, free of
 * their bundling quirks (a CommonJS dependency, a Node-only fallback import).
 */
export { type Hex, toHex, fromHex, isHex, concatBytes, equalBytes } from './hex.js';
export {
  NotAFhirResourceError,
  type FhirResourceLike,
  assertFhirResource,
  canonicalJson,
  canonicalize,
  contentHash,
  sha256,
} from './canonical.js';
export {
  type LeafInput,
  type LeafTuple,
  LEAF_FIELDS,
  LEAF_TYPES,
  leafTuple,
  encodeLeaf,
  leafHash,
  randomSalt,
  generatePseudonymKey,
  pseudonym,
} from './leaf.js';
export { keccak256, keccakReady } from './keccak.js';
export { type MerkleTree, buildTree, processProof, verifyProof } from './merkle.js';
export {
  type TamperReason,
  type VerificationResult,
  type VerifyRecordInput,
  verifyRecord,
  verifyRecords,
} from './verify.js';
export { bytes32Schema, hexSchema, leafInputSchema, proofSchema } from './schemas.js';
