/**
 * The one typed seam between the elements and the outside world. Every element reads and writes
 * through an `EhrDataSource`; two implementations exist:
 *  - `HttpChainDataSource` (bridge over HTTP for records/uploads/audit, ethers v6 for chain state and
 *    wallet transactions), and
 *  - `FixtureDataSource` (`@ehr-anchor/widgets/testing`), serving the Synthea fixtures in memory
 *    for tests and Storybook.
 *
 * What the elements never take from a data source is the *verdict* on a record: they get the
 * resource, its leaf inputs, its proof and the root it claims, and verify in the browser against
 * the root read from the chain (`anchorOf`).
 */
import type { FhirResource, Patient, Identifier, HumanName } from 'fhir/r4';
import type { ContactChange } from '@ehr-anchor/core/api';

/** Timeline categories, in display order (issue 8: the viewer groups records by these). */
export const RECORD_CATEGORIES = [
  'encounters',
  'conditions',
  'medications',
  'observations',
  'procedures',
  'immunizations',
  'allergies',
  'care-plans',
  'documents',
  'other',
] as const;
export type RecordCategory = (typeof RECORD_CATEGORIES)[number];

/** The inputs of a record's Merkle leaf (docs/architecture.md, "Record model"); no PHI. */
export interface LeafInputs {
  /** Keyed pseudonym of the patient (0x-prefixed 32 bytes). */
  subject: string;
  resourceType: string;
  resourceId: string;
  versionId: string;
  /** sha256 of the canonical resource bytes, 0x-prefixed. */
  contentHash: string;
  payloadCid: string;
  /** 0x-prefixed 32 random bytes. */
  salt: string;
}

/** What the bridge *claims* about an anchor. The root is checked against the chain, never trusted. */
export interface AnchorClaim {
  root: string;
  txHash?: string;
  blockNumber?: number;
  hospital?: string;
}

/** An anchor as read from the chain itself. */
export interface AnchorOnChain {
  root: string;
  hospital: string;
  /** Seconds since epoch of the anchoring block. */
  timestamp: number;
  count: number;
}

/** One line of the timeline. Carries no verdict: verification happens on the detail. */
export interface RecordSummary {
  /** Opaque key unique within a patient (e.g. `Observation/abc/1`). */
  key: string;
  resourceType: string;
  resourceId: string;
  versionId: string;
  category: RecordCategory;
  /** ISO date or date-time the record is about (effective/onset/period start/recorded). */
  date?: string;
  /** Short human title (code display, document title). */
  title: string;
  /** A one-line value (observation value + unit), when there is one. */
  value?: string;
  /** `pending` until the bridge has anchored the batch holding this record. */
  state: 'anchored' | 'pending';
  /** The hospital whose bridge served it, when a source reads several hospitals (shown on the row). */
  origin?: { hospital: string; name: string };
}

export interface RecordQuery {
  categories?: RecordCategory[];
  /** Inclusive ISO date (YYYY-MM-DD). */
  from?: string;
  /** Inclusive ISO date (YYYY-MM-DD). */
  to?: string;
}

/**
 * Where a record comes from: the hospital whose bridge served it, as the data source established it
 * from configuration or chain state — never from what the bridge says about the record. The record
 * verifies only if its root was anchored by this hospital. A source of several bridges
 * (`HospitalNetworkDataSource`) gives each record the hospital of the bridge it came from.
 */
export interface RecordOrigin {
  /** The hospital's address (its admin account on chain). */
  hospital: string;
  /** The hospital's name on chain, when the source read it. */
  name?: string;
  /**
   * The subject the chain binds to the patient on screen at this hospital, when a source reads
   * several hospitals (each has its own pseudonym of the person); the verdict then expects it instead
   * of the view's `expectedSubject`. Established from chain state by the source, never from a bridge.
   */
  subject?: string;
}

/** A record with everything the browser needs to verify it. */
export interface RecordDetail {
  summary: RecordSummary;
  resource: FhirResource;
  /** The hospital of origin the record is verified against; without it the verdict is `unknown`. */
  origin?: RecordOrigin;
  leaf?: LeafInputs;
  /** Sibling hashes, 0x-prefixed, leaf to root. */
  proof?: string[];
  anchor?: AnchorClaim;
  /** The bridge found the stored bytes inconsistent (CID or leaf mismatch) and says so. */
  bridgeIntegrityError?: string;
  /** The bridge's tamper reason code with `bridgeIntegrityError` (e.g. `cid-mismatch`, `content-changed`). */
  bridgeTamperReason?: string;
}

export interface PatientHeader {
  id: string;
  resource: Patient;
  /** Record key of the Patient version shown, when the source has one (for its version history). */
  key?: string;
  /** The Patient record shown, with its leaf, proof and origin: the header is verified like any record. */
  record?: RecordDetail;
}

export interface PatientSearchQuery {
  text?: string;
  identifier?: string;
  birthDate?: string;
}

export interface PatientMatch {
  id: string;
  name: HumanName[];
  birthDate?: string;
  identifier?: Identifier[];
}

/**
 * A change to the patient's contact details, made on one version of their Patient record (see
 * `applyContactChange` in @ehr-anchor/core/api): only the fields named change, everything else of
 * that version is kept; `null` removes a value. `ContactFieldChange`: one changed field, for the
 * confirmation the person sees.
 */
export type { ContactChange, ContactFieldChange } from '@ehr-anchor/core/api';

/**
 * Consent categories, as the chain's scope bits (EhrRegistry `grantAccess`; @ehr-anchor/contracts
 * SCOPES): the timeline's categories plus the patient's demographics (their Patient record: name,
 * birth date, contact — what a doctor's search and the record's header read) and the categories the
 * timeline shows under "Other".
 */
export const SCOPE_CATEGORIES = [
  'demographics',
  'encounters',
  'conditions',
  'medications',
  'observations',
  'procedures',
  'immunizations',
  'allergies',
  'carePlans',
  'documents',
  'imaging',
  'devices',
  'billing',
  'other',
] as const;
export type ScopeCategory = (typeof SCOPE_CATEGORIES)[number];

/** Who a grant is for. */
export type GranteeKind = 'hospital' | 'doctor';

export interface Grant {
  /** Grantee address (0x…). */
  grantee: string;
  granteeKind: GranteeKind;
  /** Human label of the grantee, when known (hospital or doctor name). */
  granteeName?: string;
  /** The categories the grant covers, exactly as its scope bits on chain say (never empty). */
  scope: ScopeCategory[];
  /** The scope bits as stored on chain. */
  scopeBits: number;
  /** Seconds since epoch; 0 = no expiry. */
  expiresAt: number;
  /** In force now: unexpired and its grantee still registered (a removed hospital's grants are ended). */
  active: boolean;
  /** Why a grant is not in force (`expired`, or `ended`: the grantee was removed from the network). */
  inactiveReason?: 'expired' | 'ended';
}

export interface GrantRequest {
  grantee: string;
  granteeKind: GranteeKind;
  /** At least one category: a grant always names what it covers (every category: list them all). */
  scope: ScopeCategory[];
  /** Seconds since epoch; 0 = until revoked. */
  expiresAt: number;
}

/** A wallet transaction in flight. `wait` resolves when mined, rejects when reverted or dropped. */
export interface TxHandle {
  hash: string;
  wait(): Promise<{ blockNumber: number }>;
}

export interface AccessLogEntry {
  /** ISO date-time. */
  at: string;
  /** Who (address or display). */
  actor: string;
  actorRole?: string;
  action: 'read' | 'search' | 'download' | 'upload' | 'edit' | 'refused' | string;
  /** What was touched (e.g. `Observation/abc`). */
  what?: string;
  outcome: 'success' | 'denied' | 'error';
}

/** One page of a patient's access log, newest first. */
export interface AccessLogPage {
  entries: AccessLogEntry[];
  /** Cursor of the older entries (pass it as `before`); absent on the last page. */
  next?: string;
}

export interface UploadRequest {
  title: string;
  /** ISO date. */
  date: string;
  category: RecordCategory;
  patientId: string;
  file: File;
}

export interface UploadProgress {
  loaded: number;
  total: number;
}

/** Where an uploaded record is in the bridge pipeline (received → stored → batched → anchored). */
export interface UploadStatus {
  recordKey: string;
  state: 'received' | 'stored' | 'batched' | 'anchored' | 'failed';
  cid?: string;
  txHash?: string;
  error?: string;
}

export interface Hospital {
  address: string;
  name: string;
  bridgeSigner?: string;
  /** The public key the bridge wraps data keys to (hex), needed to add a hospital. */
  keyWrappingKey?: string;
}

export interface Doctor {
  address: string;
  name?: string;
  hospital: string;
}

export interface RegistrationRequest {
  /** The request's key on chain: the applicant's wallet (one pending request per wallet and hospital). */
  id: string;
  applicant: string;
  /** Pseudonymous subject id (no PHI). */
  subject: string;
  hospital: string;
  status: 'pending' | 'approved' | 'rejected';
}

export interface RegistrationInput {
  hospital: string;
  subject: string;
}

/** The reading/writing surface all elements use. */
export interface EhrDataSource {
  getPatient(patientId: string, signal?: AbortSignal): Promise<PatientHeader>;
  /** Applies a contact change to the named Patient version (see {@link ContactChange}); the new version comes back. */
  updateContact(patientId: string, change: ContactChange): Promise<PatientHeader>;
  /**
   * The pseudonymous subject every record of `patientId` must be about, established from chain state
   * for the signed-in account — a subject bound to its wallet (`patientOf(subject)`), or one it may
   * read (`canRead(account, subject, demographics)`) — never from what the bridge says. Rejects
   * (`unauthorized` without a sign-in, `forbidden` when the chain binds no such subject).
   */
  expectedSubject(patientId: string, signal?: AbortSignal): Promise<string>;
  /** All summaries for a patient matching the query, newest first. */
  listRecords(patientId: string, query?: RecordQuery, signal?: AbortSignal): Promise<RecordSummary[]>;
  getRecord(patientId: string, key: string, signal?: AbortSignal): Promise<RecordDetail>;
  /**
   * Bytes of the record's `content[index].attachment` when it is stored by URL (inline `data` is
   * covered by the record's own content hash and needs no fetch).
   */
  getAttachment(patientId: string, key: string, index: number, signal?: AbortSignal): Promise<Blob>;
  searchPatients(query: PatientSearchQuery, signal?: AbortSignal): Promise<PatientMatch[]>;
  /** The anchor as the *chain* knows it, or undefined when the root was never anchored. */
  anchorOf(root: string): Promise<AnchorOnChain | undefined>;

  listGrants(patientId: string, signal?: AbortSignal): Promise<Grant[]>;
  grant(patientId: string, request: GrantRequest): Promise<TxHandle>;
  revoke(patientId: string, grantee: string): Promise<TxHandle>;
  accessLog(patientId: string, signal?: AbortSignal): Promise<AccessLogEntry[]>;
  /**
   * One page of the access log, newest first; `before` is the previous page's `next`. Optional: a
   * source without it lists the log in one go with `accessLog`.
   */
  accessLogPage?(
    patientId: string,
    page: { before?: string; limit?: number },
    signal?: AbortSignal,
  ): Promise<AccessLogPage>;

  upload(
    request: UploadRequest,
    onProgress: (p: UploadProgress) => void,
    signal?: AbortSignal,
  ): Promise<UploadStatus>;
  uploadStatus(recordKey: string, signal?: AbortSignal): Promise<UploadStatus>;

  listHospitals(signal?: AbortSignal): Promise<Hospital[]>;
  addHospital(hospital: Hospital): Promise<TxHandle>;
  removeHospital(address: string): Promise<TxHandle>;
  listDoctors(hospital: string, signal?: AbortSignal): Promise<Doctor[]>;
  addDoctor(doctor: Doctor): Promise<TxHandle>;
  removeDoctor(hospital: string, address: string): Promise<TxHandle>;
  listRegistrations(hospital: string, signal?: AbortSignal): Promise<RegistrationRequest[]>;
  approveRegistration(hospital: string, id: string): Promise<TxHandle>;
  rejectRegistration(hospital: string, id: string): Promise<TxHandle>;
  requestRegistration(input: RegistrationInput): Promise<TxHandle>;

  /**
   * How each hospital's bridge answered the last request that needed it, for a source that reads
   * several hospitals (optional): the viewer names those whose records are missing.
   */
  hospitalStates?(): HospitalState[];

  /**
   * Sign-In with Ethereum against the bridge (optional: fixtures and read-only sources may omit it).
   * `sign` asks the wallet to `personal_sign` the EIP-4361 message.
   */
  signIn?(address: string, sign: (message: string) => Promise<string>): Promise<SignInResult>;
}

/** How a hospital's bridge answered, in a source that reads several hospitals. */
export interface HospitalState {
  /** The hospital's address on chain. */
  hospital: string;
  /** Its name on chain. */
  name: string;
  /** `unavailable`: no answer (down, or no bridge published); `refused`: it answered no (e.g. no grant covers it). */
  state: 'available' | 'unavailable' | 'refused';
  /** Why, in words for the person (the bridge's own sentence for a refusal). */
  message?: string;
}

/** Roles of the signed-in account, as the bridge derived them from chain state. */
export interface SignInResult {
  admin: boolean;
  hospital: string | null;
  doctorOf: string | null;
  subjects: string[];
}

/** Errors a data source throws carry a kind so elements can say what to do. */
export type DataErrorKind =
  | 'unauthorized'
  | 'forbidden'
  | 'not-found'
  | 'gone'
  | 'network'
  | 'wallet-rejected'
  | 'wallet-locked'
  | 'wrong-network'
  | 'no-wallet'
  | 'invalid'
  /** An edit named a version that is no longer current (HTTP 409/412, If-Match): someone else changed it. */
  | 'conflict'
  | 'reverted'
  | 'unknown';

export class DataSourceError extends Error {
  /** The HTTP status the bridge answered with, when it answered. */
  readonly status: number | undefined;
  /**
   * The message is a sentence for the person using the element (written by this package or taken
   * from the contracts' error table), so elements may show it; otherwise they show their own
   * sentence for `kind` and never the message (it may be a library's or a server's text).
   */
  readonly forPeople: boolean;
  constructor(
    readonly kind: DataErrorKind,
    message: string,
    options?: { cause?: unknown; status?: number; forPeople?: boolean },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DataSourceError';
    this.status = options?.status;
    this.forPeople = options?.forPeople ?? false;
  }
}

/**
 * The bridge refused to serve a record because it failed the bridge's own verification (HTTP 409
 * with `urn:ehr-anchor:tamper`). `reason` is the bridge's code (`cid-mismatch`, `envelope-tampered`,
 * `content-changed`, `identity-mismatch`, `proof-invalid`, `root-unknown`).
 */
export class BridgeTamperError extends DataSourceError {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super('invalid', message);
    this.name = 'BridgeTamperError';
  }
}
