/** Configuration of the read side (the `read` object of the bridge config; every field optional). */
import { z } from 'zod';

export const ReadConfigSchema = z.object({
  /**
   * node:sqlite file of the read side's own tables (blind search index, access log, consent mirror,
   * erasures, document keys). Default: beside a SQLite outbox (`<outbox>.read.db`), else `./ehr-bridge-read.db`.
   */
  store: z.string().optional(),
  /** HMAC secret of session tokens, 0x + ≥32 bytes hex; random per process when absent (sessions end on restart). */
  sessionSecret: z
    .string()
    .regex(/^0x([0-9a-fA-F]{2}){32,}$/, 'sessionSecret: 0x + at least 32 bytes of hex')
    .optional(),
  sessionTtlSec: z.coerce.number().int().min(30).max(86_400).default(900),
  /** Domains accepted in Sign-In with Ethereum messages besides the request's Host (the portals embedding the elements). */
  siweDomains: z.array(z.string().min(1)).default([]),
  /** Largest document upload (bytes); larger → 413. */
  uploadLimit: z.coerce
    .number()
    .int()
    .min(1024)
    .default(256 * 1024 * 1024),
  /** FHIR server the patient's contact edits and the mirrored Consent resources are written to. */
  fhirBaseUrl: z.url().optional(),
  fhirHeaders: z.record(z.string(), z.string()).default({}),
  /** Outbox `source` of versions the read side writes (AuditEvent, DocumentReference, Patient edits). */
  source: z.string().default('bridge-read'),
  /**
   * Origins (portals embedding the elements) allowed to call the read API from a browser; `*`
   * reflects any origin. Sessions travel in the Authorization header, never in cookies, so no
   * ambient credential rides along with a cross-origin request.
   */
  corsOrigins: z.union([z.literal('*'), z.array(z.string().min(1))]).default('*'),
  /** First block of event scans (the registry's deployment block). */
  fromBlock: z.coerce.number().int().min(0).default(0),
});
export type ReadConfig = z.infer<typeof ReadConfigSchema>;
