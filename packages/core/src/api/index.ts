/**
 * zod schemas of the fhir-bridge HTTP API — the single source of its request/response types,
 * shared by the bridge (which validates and documents them in /openapi.json) and the elements
 * (which parse what the bridge answers). Exported as `@ehr-anchor/core/api`.
 *
 * Nothing here carries PHI except where a FHIR resource itself is the payload.
 */
import { z } from 'zod';

/*
 * Response schemas are also *encoded* by the bridge (fastify-type-provider-zod v7 serializes with
 * zod's encode), so they must not contain one-way transforms: plain regex strings here, typed as Hex.
 */
const hex32 = z
  .string()
  .regex(/^0x[0-9a-fA-F]{64}$/, 'expected 0x + 32 bytes of hex') as unknown as z.ZodType<
  `0x${string}`,
  `0x${string}`
>;
const bytes32Schema = hex32;

/** A FHIR `OperationOutcome.issue` as the bridge writes it. */
export const operationOutcomeIssueSchema = z.object({
  severity: z.enum(['fatal', 'error', 'warning', 'information']),
  code: z.string(),
  diagnostics: z.string().optional(),
  /** `Type/id/_history/vid` of the version an issue is about. */
  location: z.array(z.string()).optional(),
  /** On receipts: the outbox sequence number and content hash of the version. */
  details: z
    .object({
      coding: z.array(z.object({ system: z.string(), code: z.string() })).optional(),
      text: z.string().optional(),
    })
    .optional(),
});

/** Every error (4xx/5xx) and every ingest receipt is a FHIR OperationOutcome. */
export const operationOutcomeSchema = z.object({
  resourceType: z.literal('OperationOutcome'),
  issue: z.array(operationOutcomeIssueSchema).min(1),
});
export type ApiOperationOutcome = z.infer<typeof operationOutcomeSchema>;

/** Coding systems used in ingest receipts. */
export const RECEIPT_SYSTEMS = {
  /** `code` = outbox sequence number of the version. */
  seq: 'urn:ehr-anchor:outbox-seq',
  /** `code` = 0x content hash of the version. */
  contentHash: 'urn:ehr-anchor:content-hash',
  /** `code` = `queued` (new) or `duplicate` (already in the outbox: will be anchored once). */
  disposition: 'urn:ehr-anchor:disposition',
} as const;

export const recordStateSchema = z.enum(['received', 'stored', 'batched', 'anchored']);
export type ApiRecordState = z.infer<typeof recordStateSchema>;
export const batchStateSchema = z.enum(['pending', 'sent', 'anchored']);

/** GET /healthz — the process is up. */
export const healthSchema = z.object({ status: z.literal('ok') });

/** GET /readyz — the outbox, Kubo and the chain answer (503 with the same shape when not). */
export const readinessSchema = z.object({
  status: z.enum(['ready', 'not-ready']),
  checks: z.record(z.string(), z.object({ ok: z.boolean(), detail: z.string().optional() })),
});

/** An anchored (or pending) batch. */
export const batchSchema = z.object({
  id: z.number().int(),
  state: batchStateSchema,
  root: bytes32Schema,
  manifestCid: z.string(),
  count: z.number().int(),
  createdAt: z.string(),
  txHash: hex32.nullable(),
  blockNumber: z.number().int().nullable(),
  anchoredAt: z.string().nullable(),
});
export type ApiBatch = z.infer<typeof batchSchema>;

/** GET /status — outbox counts by state, lag, and the latest batches. */
export const bridgeStatusSchema = z.object({
  /** Operator only (the outbox's kind, counts, lag, dead letters); absent for anyone else. */
  outbox: z.enum(['sqlite', 'postgres']).optional(),
  records: z.record(recordStateSchema, z.number().int()).optional(),
  batches: z.record(batchStateSchema, z.number().int()).optional(),
  lagMs: z.number().int().optional(),
  /** Public: what the chain shows anyway (which registry, which signer, the latest anchors). */
  chainId: z.number().int(),
  registry: z.string(),
  signer: z.string(),
  latestBatches: z.array(batchSchema),
  /** Records a write-back step gave up on after its attempt limit (`ehr-bridge retry` puts them back). */
  deadLetters: z.object({ provenance: z.number().int(), consent: z.number().int() }).optional(),
});
export type ApiBridgeStatus = z.infer<typeof bridgeStatusSchema>;

/**
 * One version of a resource as the anchor index knows it: enough to verify the resource against
 * the chain with `verifyRecord` (leaf fields + proof + root), never its content.
 */
export const anchoredVersionSchema = z.object({
  resourceType: z.string(),
  resourceId: z.string(),
  versionId: z.string(),
  contentHash: bytes32Schema,
  state: recordStateSchema,
  deleted: z.boolean(),
  receivedAt: z.string(),
  /** Leaf fields (present from `stored` on). */
  leaf: z
    .object({
      subject: bytes32Schema,
      payloadCid: z.string(),
      salt: bytes32Schema,
      leafHash: bytes32Schema,
    })
    .nullable(),
  /** Sibling hashes leaf → root (present from `batched` on). */
  proof: z.array(bytes32Schema).nullable(),
  batch: batchSchema.nullable(),
});
export type ApiAnchoredVersion = z.infer<typeof anchoredVersionSchema>;

/** POST /dead-letters/retry — how many dead letters went back into their queues. */
export const deadLetterRetrySchema = z.object({ provenance: z.number().int(), consent: z.number().int() });
export type ApiDeadLetterRetry = z.infer<typeof deadLetterRetrySchema>;

/** GET /anchors/{type}/{id} — every version of a resource, newest first. */
export const anchorLookupSchema = z.object({
  resourceType: z.string(),
  resourceId: z.string(),
  versions: z.array(anchoredVersionSchema),
});
export type ApiAnchorLookup = z.infer<typeof anchorLookupSchema>;

/**
 * The batch manifest the bridge stores on IPFS (a raw JSON block whose CID goes on chain with the
 * root): the leaf hashes and payload CIDs of the batch in tree-input order. No PHI: leaf hashes are
 * salted and payloads are ciphertext.
 */
export const batchManifestSchema = z.object({
  format: z.literal('ehr-anchor-manifest/v1'),
  chainId: z.number().int(),
  registry: z.string(),
  root: bytes32Schema,
  count: z.number().int().positive(),
  leaves: z.array(z.object({ leafHash: bytes32Schema, payloadCid: z.string() })),
  createdAt: z.string(),
});
export type BatchManifest = z.infer<typeof batchManifestSchema>;
export * from './read.js';
export * from './entries.js';
export * from './fhir-ids.js';
export * from './contact.js';
