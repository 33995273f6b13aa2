/**
 * Clinical entries (issue 10): a doctor's EHR entry — history, medications, physical examination,
 * assessment and plan, lab results — as ONE FHIR R4 transaction Bundle tied together by an
 * Encounter. The zod schemas describe `POST /patients/{subject}/entries` and
 * `GET /records/{seq}/versions`; the clinical structure rules ({@link checkEntryBundle}, codes,
 * units, plausible ranges) are in ./entry-rules.ts, shared with the `<clinical-entry>` element.
 */
import { z } from 'zod';
import type { Hex } from '../hex.js';
import { ENTRY_RESOURCE_TYPES } from './entry-rules.js';

export * from './entry-rules.js';

// ─────────────────────────── request / response schemas ───────────────────────────

const hexSchema = (bytes: number) =>
  z.string().regex(new RegExp(`^0x[0-9a-fA-F]{${2 * bytes}}$`)) as unknown as z.ZodType<Hex, string>;
const bytes32Schema = hexSchema(32);
const address = hexSchema(20) as unknown as z.ZodType<`0x${string}`, string>;
const resourceSchema = z.looseObject({
  resourceType: z.enum(ENTRY_RESOURCE_TYPES),
  id: z
    .string()
    .regex(/^[A-Za-z0-9\-.]{1,64}$/)
    .optional(),
});

/** One entry of the transaction: POST a new resource (urn:uuid fullUrl) or PUT a new version of one. */
export const entryBundleEntrySchema = z.object({
  fullUrl: z.string().max(200).optional(),
  resource: resourceSchema,
  request: z.object({
    method: z.enum(['POST', 'PUT']),
    url: z.string().min(1).max(200),
    /** Optimistic locking of an amendment: `W/"<version the doctor edited>"`. */
    ifMatch: z.string().max(64).optional(),
  }),
});

/** POST /patients/{subject}/entries body: a FHIR transaction Bundle. */
export const entryBundleSchema = z.object({
  resourceType: z.literal('Bundle'),
  type: z.literal('transaction'),
  entry: z.array(entryBundleEntrySchema).min(1).max(100),
});
export type EntryBundle = z.infer<typeof entryBundleSchema>;

/** One resource version the server created for an entry, as queued for anchoring. */
export const entryItemSchema = z.object({
  /** The request's fullUrl (`urn:uuid:…`) or PUT url, so the client maps its entries to results. */
  request: z.string(),
  resourceType: z.string(),
  resourceId: z.string(),
  versionId: z.string(),
  /** `Type/id/_history/vid` on the hospital's FHIR server. */
  reference: z.string(),
  /** Outbox sequence number: follow it with GET /records/{seq}/state. */
  seq: z.number().int(),
  contentHash: bytes32Schema,
  state: z.enum(['received', 'stored', 'batched', 'anchored']),
});
export type EntryItem = z.infer<typeof entryItemSchema>;

/** 201 answer to an entry. */
export const entryReceiptSchema = z.object({
  subject: bytes32Schema,
  /** `Encounter/id` the entry's resources reference. */
  encounter: z.string(),
  items: z.array(entryItemSchema),
});
export type EntryReceipt = z.infer<typeof entryReceiptSchema>;

/** One version in a record's history, with what the browser needs to verify it (content via GET /records/{seq}). */
export const recordVersionSchema = z.object({
  seq: z.number().int(),
  versionId: z.string(),
  contentHash: bytes32Schema,
  state: z.enum(['received', 'stored', 'batched', 'anchored']),
  deleted: z.boolean(),
  erased: z.boolean(),
  receivedAt: z.string(),
  anchoredAt: z.string().nullable(),
  leafHash: bytes32Schema.nullable(),
  proof: z.array(bytes32Schema).nullable(),
  anchor: z
    .object({
      root: bytes32Schema,
      txHash: hexSchema(32).nullable(),
      blockNumber: z.number().int().nullable(),
      hospital: address.nullable(),
    })
    .nullable(),
});
export type RecordVersion = z.infer<typeof recordVersionSchema>;

/** GET /records/{seq}/versions: every version of the record's resource, newest first. */
export const recordVersionsSchema = z.object({
  resourceType: z.string(),
  resourceId: z.string(),
  versions: z.array(recordVersionSchema),
});
export type RecordVersions = z.infer<typeof recordVersionsSchema>;
