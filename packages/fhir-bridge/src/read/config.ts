/** Configuration of the read side (the `read` object of the bridge config; every field optional). */
import { z } from 'zod';
import { normalizeOrigin } from './session.js';

function toOrigin(value: string, ctx: z.RefinementCtx): string {
  try {
    return normalizeOrigin(value);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
}

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
  /**
   * Portal origins users sign in on (`https://portal.example.org`; a bare host means https): a
   * Sign-In with Ethereum message is accepted only when its `domain` is the host of one of them and
   * its `uri` on that origin. Required when the bridge listens beyond loopback; on loopback the
   * default is any loopback origin (development stacks).
   */
  siweDomains: z.array(z.string().min(1).transform(toOrigin)).default([]),
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
   * Origins (portals embedding the elements) allowed to call the read API from a browser. Default:
   * the `siweDomains` origins; on loopback with neither configured, any loopback origin; otherwise
   * none. Sessions travel in the Authorization header, never in cookies.
   */
  corsOrigins: z.array(z.string().min(1).transform(toOrigin)).optional(),
  /** Refusals of one caller (same action, same patient) within this many seconds become one AuditEvent with a count. */
  deniedAuditWindowSec: z.number().int().min(1).max(3_600).default(60),
  /**
   * Read chain answers (consent, roles, anchors) at the latest block number and memoize them per
   * block: one `eth_blockNumber` per request instead of five to seven `eth_call`s. A revoke still
   * refuses the very next request after its block (read/chain.ts); `false` asks every question anew.
   */
  consentCache: z.boolean().default(true),
  /** First block of event scans (the registry's deployment block). */
  fromBlock: z.coerce.number().int().min(0).default(0),
});
export type ReadConfig = z.infer<typeof ReadConfigSchema>;
