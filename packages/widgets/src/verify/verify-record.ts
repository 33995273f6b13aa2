/**
 * The per-record verification badge, computed in the browser with @ehr-anchor/core's
 * `verifyRecord`. The bridge supplies the resource, the leaf inputs, the proof and the root it
 * claims; only the chain (via `anchorOf`) is trusted to say a root was anchored.
 */
import type {
  Hex,
  LeafInput,
  TamperReason as CoreTamperReason,
  verifyRecord as CoreVerifyRecord,
} from '@ehr-anchor/core/record';
import type { AnchorOnChain, RecordDetail } from '../data/data-source.js';

/*
 * core's verification (JCS, keccak, leaf, Merkle proof) is loaded with the first record that has a
 * proof to check (its own chunk in the ESM builds): an element that never verifies (uploader,
 * consent, admin, provider) does not carry it up front. Verification is asynchronous anyway.
 */
let loading: Promise<typeof CoreVerifyRecord> | undefined;
function coreVerifier(): Promise<typeof CoreVerifyRecord> {
  if (!loading) {
    loading = import('./core-verify.js').then(({ verifyRecord }) => verifyRecord);
    loading.catch(() => (loading = undefined)); // a later record tries again
  }
  return loading;
}

/** core's reasons, plus the bridge itself reporting inconsistent stored bytes. */
export type TamperReason = CoreTamperReason | 'bridge-integrity';

/** The bridge's tamper codes that are core's reasons too; its others (`cid-mismatch`, `envelope-tampered`) are `bridge-integrity`. */
const CORE_REASONS = [
  'content-changed',
  'identity-mismatch',
  'proof-invalid',
  'root-unknown',
  'malformed',
] as const satisfies readonly CoreTamperReason[];

export type Verification =
  | { state: 'verified'; anchor: AnchorOnChain }
  | { state: 'pending' }
  | { state: 'tampered'; reason: TamperReason; detail: string }
  | { state: 'unknown'; detail: string };

/**
 * Verifies one record. If the chain cannot be read the verdict is `unknown` (we could not check),
 * never `verified`; a bridge that says the bytes are bad is believed (that claim is safe to trust).
 */
export async function verifyRecord(
  record: RecordDetail,
  anchorOf: (root: string) => Promise<AnchorOnChain | undefined>,
): Promise<Verification> {
  if (record.bridgeIntegrityError) {
    const r = record.bridgeTamperReason;
    const reason: TamperReason =
      r && (CORE_REASONS as readonly string[]).includes(r) ? (r as CoreTamperReason) : 'bridge-integrity';
    return { state: 'tampered', reason, detail: record.bridgeIntegrityError };
  }
  const { leaf, proof, anchor, resource } = record;
  if (!leaf || !proof || !anchor) {
    return record.summary.state === 'pending'
      ? { state: 'pending' }
      : { state: 'unknown', detail: 'The record came without a proof.' };
  }
  let coreVerifyRecord: typeof CoreVerifyRecord;
  try {
    coreVerifyRecord = await coreVerifier();
  } catch (error) {
    return {
      state: 'unknown',
      detail: `The verification code could not be loaded: ${(error as Error).message}`,
    };
  }
  let onChain: AnchorOnChain | undefined;
  try {
    const result = await coreVerifyRecord({
      resource,
      leaf: leaf as LeafInput,
      proof: proof as Hex[],
      root: anchor.root as Hex,
      anchored: async (root) => {
        onChain = await anchorOf(root);
        return onChain !== undefined;
      },
    });
    if (result.status === 'tampered')
      return { state: 'tampered', reason: result.reason, detail: result.detail };
  } catch (error) {
    return { state: 'unknown', detail: `The chain could not be read: ${(error as Error).message}` };
  }
  return onChain ? { state: 'verified', anchor: onChain } : { state: 'unknown', detail: 'No anchor.' };
}
