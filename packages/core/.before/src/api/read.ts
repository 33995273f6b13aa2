/**
 * zod schemas of the bridge's READ side (issue 7): Sign-In with Ethereum sessions, the
 * consent-checked records API (resource + leaf inputs + proof + anchor, so the browser verifies on
 * its own), the doctors' patient search, documents, the access log (AuditEvent) and the consent
 * mirror. Routes identify patients by their pseudonymous `subject` and records by the outbox
 * sequence number, never by a patient id or name, so no URL (and no access log line) holds PHI.
 */
import { z } from 'zod';
import type { Hex } from '../hex.js';

/*
 * Hex strings here are plain regex-checked strings typed as `Hex` (no zod transform), because the
 * bridge also uses these schemas to serialize its responses, and zod cannot encode a transform.
 */
const hexSchema = (bytes?: number) =>
  z
    .string()
    .regex(
      bytes === undefined ? /^0x(?:[0-9a-fA-F]{2})*$/ : new RegExp(`^0x[0-9a-fA-F]{${2 * bytes}}$`),
    ) as unknown as z.ZodType<Hex, string>;
const bytes32Schema = hexSchema(32);
const address = hexSchema(20) as unknown as z.ZodType<`0x${string}`, string>;
/** A record leaf's inputs (same fields as `leafInputSchema` of the core, without transforms). */
const leafInputSchema = z.object({
  subject: bytes32Schema,
  resourceType: z.string().regex(/^[A-Z][A-Za-z]+$/),
  resourceId: z.string().min(1),
  versionId: z.string().min(1),
  contentHash: bytes32Schema,
  payloadCid: z.string().min(1),
  salt: bytes32Schema,
});
const proofSchema = z.array(bytes32Schema);
/** FHIR resources pass through as objects; the elements render them with their own renderers. */
const resource = z.looseObject({ resourceType: z.string(), id: z.string().optional() });

// ─────────────────────────── sign-in ───────────────────────────

/** POST /auth/nonce → a single-use nonce and the fields the EIP-4361 message must carry. */
export const siweChallengeSchema = z.object({
  nonce: z.string(),
  /** The `domain` (RFC 3986 authority) the bridge accepts in the message. */
  domain: z.string(),
  /** The `uri` to put in the message. */
  uri: z.string(),
  chainId: z.number().int(),
  statement: z.string(),
  /** The nonce is refused after this time (ISO). */
  expiresAt: z.string(),
});
export type SiweChallenge = z.infer<typeof siweChallengeSchema>;

/** POST /auth/session body: the EIP-4361 message as signed and the `personal_sign` signature. */
export const siweSignInSchema = z.object({
  message: z.string().min(1).max(4096),
  signature: hexSchema(),
});
export type SiweSignIn = z.infer<typeof siweSignInSchema>;

/** What the chain says an account is (re-derived at sign-in and on every request). */
export const sessionRolesSchema = z.object({
  admin: z.boolean(),
  /** Set when the account is a registered hospital (its admin account). */
  hospital: address.nullable(),
  /** Set when the account is an active doctor: the hospital they belong to. */
  doctorOf: address.nullable(),
  /** Pseudonymous subjects bound to this wallet (empty unless a patient). */
  subjects: z.array(bytes32Schema),
});
export type SessionRoles = z.infer<typeof sessionRolesSchema>;

/** POST /auth/session → a short-lived bearer token; GET /auth/session → the same without the token. */
export const sessionSchema = z.object({
  token: z.string().optional(),
  address,
  expiresAt: z.string(),
  roles: sessionRolesSchema,
});
export type ApiSession = z.infer<typeof sessionSchema>;

// ─────────────────────────── records ───────────────────────────

export const recordCategorySchema = z.enum([
  'encounters',
  'conditions',
  'medications',
  'observations',
  'procedures',
  'immunizations',
  'allergies',
  'carePlans',
  'documents',
  'demographics',
  'imaging',
  'devices',
  'billing',
  'other',
]);

/** The anchor of a record's batch as the chain and the outbox know it. */
export const recordAnchorSchema = z.object({
  root: bytes32Schema,
  manifestCid: z.string(),
  txHash: hexSchema(32).nullable(),
  blockNumber: z.number().int().nullable(),
  /** The hospital whose bridge anchored the root (`anchorOf(root).hospital`). */
  hospital: address,
});
export type RecordAnchor = z.infer<typeof recordAnchorSchema>;

/** One entry of a patient's record list (no content: read it with GET /records/{seq}). */
export const recordSummarySchema = z.object({
  seq: z.number().int(),
  resourceType: z.string(),
  resourceId: z.string(),
  versionId: z.string(),
  category: recordCategorySchema,
  state: z.enum(['received', 'stored', 'batched', 'anchored']),
  receivedAt: z.string(),
  anchoredAt: z.string().nullable(),
  /**
   * Clinical date of the resource (effective, period start, onset, performed, occurrence, authored,
   * recorded, issued, date — the first present), once the bridge has read the record; else null.
   */
  date: z.string().nullable(),
  erased: z.boolean(),
});
export type RecordSummary = z.infer<typeof recordSummarySchema>;

/** GET /patients/{subject}/records query. */
export const recordListQuerySchema = z.object({
  category: recordCategorySchema.optional(),
  type: z
    .string()
    .regex(/^[A-Z][A-Za-z]+$/)
    .optional(),
  /** Received at or after (ISO date or date-time). */
  since: z.iso.date().or(z.iso.datetime()).optional(),
  /** Received before. */
  until: z.iso.date().or(z.iso.datetime()).optional(),
  /** Clinical date (see `RecordSummary.date`) at or after. */
  from: z.iso.date().or(z.iso.datetime()).optional(),
  /** Clinical date before. */
  to: z.iso.date().or(z.iso.datetime()).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  /** Opaque: the `next` of the previous page. */
  cursor: z.string().optional(),
});
export type RecordListQuery = z.input<typeof recordListQuerySchema>;

export const recordListSchema = z.object({
  subject: bytes32Schema,
  items: z.array(recordSummarySchema),
  /** Cursor of the next page, absent on the last one. */
  next: z.string().optional(),
});
export type RecordList = z.infer<typeof recordListSchema>;

/**
 * GET /records/{seq}: the decrypted resource plus everything `verifyRecord` needs. The bridge has
 * checked the IPFS bytes against their CID and the resource against the leaf before answering;
 * the browser checks again against the root it reads from the chain itself.
 */
export const recordReadSchema = z.object({
  seq: z.number().int(),
  category: recordCategorySchema,
  resource,
  leaf: leafInputSchema,
  leafHash: bytes32Schema,
  /** Null until the record's batch exists. */
  proof: proofSchema.nullable(),
  /** Null until the batch is anchored. */
  anchor: recordAnchorSchema.nullable(),
  state: z.enum(['received', 'stored', 'batched', 'anchored']),
});
export type RecordRead = z.infer<typeof recordReadSchema>;

/**
 * GET /records/{seq}/state: where a version is in the pipeline (for an uploader following its
 * document from "stored on IPFS" to "anchored"), without decrypting anything.
 */
export const recordProgressSchema = z.object({
  seq: z.number().int(),
  resourceType: z.string(),
  state: z.enum(['received', 'stored', 'batched', 'anchored']),
  /** CID of the envelope on IPFS, from `stored` on. */
  payloadCid: z.string().nullable(),
  anchor: recordAnchorSchema.nullable(),
  erased: z.boolean(),
});
export type RecordProgress = z.infer<typeof recordProgressSchema>;

/** Coding system of the tamper reason in a 409 OperationOutcome (`details.coding`). */
export const TAMPER_SYSTEM = 'urn:ehr-anchor:tamper';
export const tamperReasonSchema = z.enum([
  'cid-mismatch',
  'envelope-tampered',
  'content-changed',
  'identity-mismatch',
  'proof-invalid',
  'root-unknown',
]);
export type ApiTamperReason = z.infer<typeof tamperReasonSchema>;

// ─────────────────────────── patients ───────────────────────────

/** POST /patients/_search body (a body, not a query string, so the terms never reach an access log). */
export const patientSearchSchema = z
  .object({
    identifier: z.string().min(1).max(200).optional(),
    /** Any part of a name (family or given), case-insensitive, whole words. */
    name: z.string().min(1).max(200).optional(),
    birthDate: z.iso.date().optional(),
  })
  .refine((q) => q.identifier || q.name || q.birthDate, 'give identifier, name or birthDate');
export type PatientSearch = z.infer<typeof patientSearchSchema>;

export const patientMatchSchema = z.object({
  subject: bytes32Schema,
  /** Latest Patient record (GET /records/{seq} for its proof). */
  seq: z.number().int(),
  patient: resource,
});
export const patientSearchResultSchema = z.object({ items: z.array(patientMatchSchema) });
export type PatientSearchResult = z.infer<typeof patientSearchResultSchema>;

/** PUT /patients/{subject}/contact: replaces Patient.telecom and Patient.address. */
export const contactUpdateSchema = z.object({
  telecom: z
    .array(
      z.object({
        system: z.enum(['phone', 'fax', 'email', 'pager', 'url', 'sms', 'other']),
        value: z.string().min(1).max(256),
        use: z.enum(['home', 'work', 'temp', 'old', 'mobile']).optional(),
      }),
    )
    .max(20),
  address: z
    .array(
      z.object({
        use: z.enum(['home', 'work', 'temp', 'old', 'billing']).optional(),
        line: z.array(z.string().max(256)).max(5).optional(),
        city: z.string().max(128).optional(),
        state: z.string().max(128).optional(),
        postalCode: z.string().max(32).optional(),
        country: z.string().max(64).optional(),
      }),
    )
    .max(10),
});
export type ContactUpdate = z.infer<typeof contactUpdateSchema>;

/** Answer to an edit or upload: the new version as queued in the outbox. */
export const writeReceiptSchema = z.object({
  seq: z.number().int(),
  resourceType: z.string(),
  resourceId: z.string(),
  versionId: z.string(),
  contentHash: bytes32Schema,
  state: z.enum(['received', 'stored', 'batched', 'anchored']),
});
export type WriteReceipt = z.infer<typeof writeReceiptSchema>;

// ─────────────────────────── documents ───────────────────────────

/** POST /documents (multipart: fields subject, title, date, category, then the file part) → 201. */
export const documentUploadFieldsSchema = z.object({
  subject: bytes32Schema,
  title: z.string().min(1).max(256),
  date: z.iso.date().or(z.iso.datetime()),
  /** LOINC document class code or free text (e.g. `11488-4` consult note). */
  category: z.string().min(1).max(128),
});
export const documentReceiptSchema = writeReceiptSchema.extend({
  /** CID of the encrypted content (chunked envelope, see the bridge README). */
  contentCid: z.string(),
  size: z.number().int(),
  contentType: z.string(),
  /** base64 SHA-1 of the plaintext, as FHIR Attachment.hash. */
  sha1: z.string(),
});
export type DocumentReceipt = z.infer<typeof documentReceiptSchema>;

// ─────────────────────────── audit ───────────────────────────

export const auditActionSchema = z.enum([
  'list',
  'read',
  'search',
  'download',
  'upload',
  'edit',
  'consent',
  'erasure',
  'access-log',
]);
/** One line of a patient's access log (the full AuditEvent is anchored like any record). */
export const auditEntrySchema = z.object({
  id: z.string(),
  recorded: z.string(),
  actor: address.nullable(),
  role: z.string(),
  action: auditActionSchema,
  outcome: z.enum(['allowed', 'denied']),
  /** `Type/id` of the record touched, when one was. */
  entity: z.string().nullable(),
  /** Outbox seq of the AuditEvent itself (its proof: GET /records/{seq}). */
  auditSeq: z.number().int().nullable(),
});
export type AuditEntry = z.infer<typeof auditEntrySchema>;
/** Opaque cursor of an access-log page (`GET …/access-log?before=<next>` lists the older entries). */
export const auditCursorSchema = z.string().regex(/^\d{1,16}-\d{1,16}$/);
/** A page of the access log, newest first; `next` is present when older entries remain. */
export const auditListSchema = z.object({
  items: z.array(auditEntrySchema),
  next: auditCursorSchema.optional(),
});

// ─────────────────────────── consent ───────────────────────────

/** GET /patients/{subject}/consents: a FHIR searchset Bundle of R4 Consent resources. */
export const consentBundleSchema = z.object({
  resourceType: z.literal('Bundle'),
  type: z.literal('searchset'),
  total: z.number().int(),
  entry: z.array(z.object({ resource })),
});

// ─────────────────────────── erasure ───────────────────────────

export const erasureRequestSchema = z.object({
  id: z.number().int(),
  seq: z.number().int(),
  subject: bytes32Schema,
  state: z.enum(['pending', 'approved', 'rejected']),
  requestedBy: address,
  requestedAt: z.string(),
  decidedBy: address.nullable(),
  decidedAt: z.string().nullable(),
});
export type ErasureRequest = z.infer<typeof erasureRequestSchema>;
export const erasureCreateSchema = z.object({ seq: z.number().int().positive() });
export const erasureListSchema = z.object({ items: z.array(erasureRequestSchema) });
