/**
 * The per-record verification badge, computed in the browser with @ehr-anchor/core's
 * `verifyRecord`. The bridge supplies the resource, the leaf inputs, the proof and the root it
 * claims; the verdict binds them to what the bridge cannot choose: the patient on screen (the
 * subject the chain binds to the signed-in account, `EhrDataSource.expectedSubject`), the record's
 * hospital of origin (`RecordDetail.origin`, from configuration or chain state) and the chain's own
 * answer to who anchored the root (`anchorOf`).
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
  'subject-mismatch',
  'proof-invalid',
  'root-unknown',
  'hospital-mismatch',
  'malformed',
] as const satisfies readonly CoreTamperReason[];

export type Verification =
  | { state: 'verified'; anchor: AnchorOnChain; leafHash: string }
  | { state: 'pending' }
  | { state: 'tampered'; reason: TamperReason; detail: string }
  | { state: 'unknown'; detail: string };

/**
 * Verifies one record as a record of the patient whose pseudonym is `subject` (a promise: the chain
 * lookup runs once for a whole view). If the chain cannot be read, or whose record it is cannot be
 * established, the verdict is `unknown` (we could not check), never `verified`; a bridge that says
 * the bytes are bad is believed (that claim is safe to trust).
 */
export async function verifyRecord(
  record: RecordDetail,
  subject: Promise<string>,
  anchorOf: (root: string) => Promise<AnchorOnChain | undefined>,
): Promise<Verification> {
  if (record.bridgeIntegrityError) {
    const r = record.bridgeTamperReason;
    const reason: TamperReason =
      r && (CORE_REASONS as readonly string[]).includes(r) ? (r as CoreTamperReason) : 'bridge-integrity';
    return { state: 'tampered', reason, detail: record.bridgeIntegrityError };
  }
  const { leaf, proof, anchor, resource, origin } = record;
  if (!leaf || !proof || !anchor) {
    return record.summary.state === 'pending'
      ? { state: 'pending' }
      : { state: 'unknown', detail: 'The record came without a proof.' };
  }
  if (!origin) return { state: 'unknown', detail: 'The hospital this record comes from is not known.' };
  let expected: string;
  try {
    expected = await subject;
  } catch (error) {
    return {
      state: 'unknown',
      detail: `Whose record this is could not be confirmed on chain: ${(error as Error).message}`,
    };
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
  let result: Awaited<ReturnType<typeof CoreVerifyRecord>>;
  try {
    result = await coreVerifyRecord({
      resource,
      leaf: leaf as LeafInput,
      proof: proof as Hex[],
      root: anchor.root as Hex,
      subject: expected as Hex,
      hospital: origin.hospital,
      anchoredBy: async (root) => {
        onChain = await anchorOf(root);
        return onChain?.hospital;
      },
    });
  } catch (error) {
    return { state: 'unknown', detail: `The chain could not be read: ${(error as Error).message}` };
  }
  if (result.status === 'tampered')
    return { state: 'tampered', reason: result.reason, detail: result.detail };
  return onChain
    ? { state: 'verified', anchor: onChain, leafHash: result.leafHash }
    : { state: 'unknown', detail: 'No anchor.' };
}
