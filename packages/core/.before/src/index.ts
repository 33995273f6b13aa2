/**
 * @ehr-anchor/core — the record model every part agrees on byte for byte. Runs unchanged in Node
 * and the browser: WebCrypto, TextEncoder and pure ESM dependencies only.
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
  ENVELOPE_MAGIC,
  ENVELOPE_VERSION,
  EnvelopeError,
  type EnvelopeErrorCode,
  type EnvelopeHeader,
  type EnvelopeHeaderInfo,
  type HospitalKey,
  type OpenOptions,
  type OpeningKey,
  type Recipient,
  type RecipientEntry,
  type RecipientKeyPair,
  type RecipientPublicKey,
  type SealOptions,
  addRecipient,
  describeEnvelopeHeader,
  envelopeHeaderSchema,
  envelopeOverhead,
  envelopeRecipients,
  generateHospitalKey,
  generateRecipientKeyPair,
  hospitalKeyFromHex,
  openEnvelope,
  parseEnvelopeHeader,
  recipientKeyId,
  recipientPublicKey,
  recordAad,
  removeRecipients,
  sealEnvelope,
} from './envelope.js';
export { type CidOptions, KUBO_CHUNK_SIZE, KUBO_MAX_LINKS, cidForBytes, rawCid } from './cid.js';
export {
  type TamperReason,
  type VerificationResult,
  type VerifyRecordInput,
  verifyRecord,
  verifyRecords,
} from './verify.js';
export { bytes32Schema, hexSchema, leafInputSchema, proofSchema } from './schemas.js';
