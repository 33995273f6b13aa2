/**
 * Bridge configuration: one zod schema, filled from an optional JSON file and then from
 * environment variables (env wins), so the same bridge runs in dev and production by
 * configuration only. `loadConfig` throws a `ConfigError` that lists every bad field.
 */
import { readFileSync } from 'node:fs';
import { isR4ResourceType } from '@ehr-anchor/core/api';
import { z } from 'zod';
import { ReadConfigSchema } from './read/config.js';

/** How a source (a FHIR server that pushes to us) proves a request is its own. */
export const SourceAuthSchema = z.discriminatedUnion('type', [
  /** `Authorization: Bearer <secret>` — what HAPI rest-hook `channel.header` sends. */
  z.object({
    type: z.literal('bearer'),
    secret: z.string().min(16, 'bearer secret must be at least 16 characters'),
  }),
  /**
   * HMAC-SHA256 with a shared secret (plugins/auth.ts). `scheme: "body"` (default): `X-Signature:
   * hex(HMAC(secret, raw body))`, the way Medplum signs deliveries — body-less requests are refused
   * and deletes need the source's confirmation. `scheme: "request"`: `X-Ehr-Signature: t=…,v1=…`
   * over method, path, time and body, fresh within `maxSkewSec`, each signature accepted once.
   */
  z.object({
    type: z.literal('hmac'),
    secret: z.string().min(16, 'HMAC secret must be at least 16 characters'),
    header: z
      .string()
      .regex(/^[A-Za-z0-9-]{1,64}$/, 'header: an HTTP header name')
      .default('x-signature'),
    scheme: z.enum(['body', 'request']).default('body'),
    maxSkewSec: z.number().int().min(5).max(3600).default(300),
  }),
  /** No authentication: only for loopback development stacks; refused unless `allowInsecure` is set. */
  z.object({ type: z.literal('none') }),
]);

export const SourceSchema = z.object({
  /** Short name used in logs, metrics and the outbox (`hapi`, `medplum-prod`). */
  id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/i, 'source id: letters, digits, _ and -'),
  auth: SourceAuthSchema,
  /** FHIR base URL of the source, for empty notifications, id-only events, sync and Provenance. */
  fhirBaseUrl: z.url().optional(),
  /** Headers the bridge sends when it calls the source (e.g. its own Authorization). */
  fhirHeaders: z.record(z.string(), z.string()).default({}),
  /** Write a Provenance resource back to the source after a version is anchored. */
  provenance: z.boolean().default(false),
  /** Resource types an empty (content-less) notification re-reads with `_lastUpdated`. */
  types: z.array(z.string().refine(isR4ResourceType, 'not a FHIR R4 resource type')).default([]),
});
export type SourceConfig = z.infer<typeof SourceSchema>;

/** True for a host the bridge listens on that only this machine reaches. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127(\.\d{1,3}){3}$/.test(host);
}

export const LimitsSchema = z.object({
  /** Rate limits on (default: on unless the bridge listens on loopback only). */
  rateLimit: z.boolean().optional(),
  /** Requests per minute from one client address (IPv6: per /64), any route. */
  perIp: z.number().int().min(1).default(600),
  /** Requests per minute with one session (read API), whatever address they come from. */
  perSession: z.number().int().min(1).default(300),
  /** Pushes per minute from one source (its credential). */
  perSource: z.number().int().min(1).default(6_000),
  /** `POST /auth/nonce` per minute from one client address. */
  noncesPerIp: z.number().int().min(1).default(30),
  /**
   * A connection must deliver at least `slowSenderMinBytes` per `slowSenderWindowMs` while its
   * request (headers, then body) is being received, else it is closed; headers must be complete
   * within one window. Idle keep-alive connections are left to the keep-alive timeout (72 s).
   */
  slowSenderWindowMs: z.number().int().min(100).max(600_000).default(10_000),
  slowSenderMinBytes: z.number().int().min(1).default(1024),
});
export type LimitsConfig = z.infer<typeof LimitsSchema>;

export const BridgeConfigSchema = z
  .object({
    host: z.string().default('127.0.0.1'),
    port: z.coerce.number().int().min(0).max(65535).default(8787),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** `sqlite:<path>` (default, WAL) or `postgres://…` to share one queue between several bridges. */
    outbox: z
      .string()
      .refine(
        (v) => v.startsWith('sqlite:') || /^postgres(ql)?:\/\//.test(v),
        'outbox must be sqlite:<path> or postgres://…',
      )
      .default('sqlite:./ehr-bridge.db'),
    /** Kubo RPC API, e.g. http://127.0.0.1:5001 */
    ipfsApiUrl: z.url(),
    /**
     * Kubo RPC APIs of the other nodes of the hospitals' IPFS network on which this bridge pins
     * copies of its roots (src/pipeline/replication.ts); reads fall back to them.
     */
    ipfsPeers: z.array(z.url()).default([]),
    /** Copies of every root, this bridge's node included (default: 2 with peers, else 1). */
    ipfsReplication: z.coerce.number().int().min(1).max(16).optional(),
    /** Pin name marking this bridge's roots on shared nodes (default `ehr-anchor/<signer address>`). */
    ipfsPinName: z
      .string()
      .regex(/^[A-Za-z0-9:/._-]{1,100}$/, 'ipfsPinName: letters, digits and : / . _ -')
      .optional(),
    /** How often the replication sweep re-pins what has too few copies (ms; 0: only at start). */
    ipfsSweepMs: z.coerce.number().int().min(0).default(60_000),
    /** Ethereum JSON-RPC of the Besu (or anvil) chain. */
    rpcUrl: z.url(),
    /** Deployment JSON written by @ehr-anchor/contracts (addresses of the registry). */
    deploymentFile: z.string().optional(),
    /** Address of the anchoring contract, if no deployment file is given. */
    anchorAddress: z
      .string()
      .regex(/^0x[0-9a-fA-F]{40}$/)
      .optional(),
    /** Private key (0x…) of this hospital's bridge signer, or a file holding it. */
    signerKey: z
      .string()
      .regex(/^0x[0-9a-fA-F]{64}$/, 'signerKey must be a 0x-prefixed 32-byte hex key')
      .optional(),
    signerKeyFile: z.string().optional(),
    /** Key store file (see README "Key store"); created with fresh keys when missing and `createKeys` is set. */
    keyStoreFile: z.string(),
    createKeys: z.boolean().default(false),
    /** A batch closes at `batchMax` records … */
    batchMax: z.coerce.number().int().min(1).max(100_000).default(2_000),
    /** … or when its oldest record has waited `batchMaxMs`. */
    batchMaxMs: z.coerce.number().int().min(10).default(2_000),
    /** Records sealed and imported into Kubo per CAR (at most batchMax). */
    storeChunk: z.coerce.number().int().min(1).max(100_000).default(1_000),
    /** Store steps in flight at once (one chunk sealed while another is imported). */
    storeConcurrency: z.coerce.number().int().min(1).max(8).default(2),
    /** Worker threads sealing chunks; 0 seals on the main thread. */
    sealWorkers: z.coerce.number().int().min(0).max(16).default(1),
    /**
     * `ehr-bridge start` only: V8's heap growing factor for the process, in percent (how far the
     * heap may grow past what the last full GC kept before the next one). 0 leaves V8's own
     * heuristic (a factor of up to 4 under load), under which a busy bridge's RSS settled anywhere
     * from ~510 to ~590 MiB from run to run; 100 (a factor of 2) keeps it at ~480–510 MiB and flat,
     * with no measurable CPU cost (README "Tests and bench").
     */
    heapGrowingPercent: z.coerce.number().int().min(0).max(1000).default(100),
    /** Largest request body accepted (bytes); larger → 413. */
    bodyLimit: z.coerce
      .number()
      .int()
      .min(1024)
      .default(32 * 1024 * 1024),
    /** Sources allowed to push. */
    sources: z.array(SourceSchema).min(1, 'configure at least one source'),
    /** Allow `auth: none` sources (loopback development only). */
    allowInsecure: z.boolean().default(false),
    /** Run the pipeline workers in this process (turn off for an ingest-only replica). */
    workers: z.boolean().default(true),
    /** Chain retry backoff: first delay and cap (ms). */
    retryBaseMs: z.coerce.number().int().min(1).default(200),
    retryMaxMs: z.coerce.number().int().min(1).default(10_000),
    /** Read side: sessions, search index, documents, consent mirror (src/read/config.ts). */
    read: ReadConfigSchema.prefault({}),
    /**
     * Fastify's `trustProxy`: false (default: the peer address is the client), true, or the
     * addresses/CIDRs of the reverse proxies whose `X-Forwarded-For` is believed. Rate limits and
     * nonce bindings key on the client address, so set it when a proxy sits in front.
     */
    trustProxy: z.union([z.boolean(), z.array(z.string().min(1))]).default(false),
    /** Rate limits and slow-sender timeouts (src/plugins/limits.ts). */
    limits: LimitsSchema.prefault({}),
    /**
     * Write-backs to FHIR servers (Provenance, mirrored Consent): attempts per record for a server
     * error (5xx) before it becomes a dead letter, with exponential backoff between them. A 4xx is a
     * dead letter at once; a server that does not answer at all counts against no record.
     */
    writeBack: z
      .object({
        maxAttempts: z.number().int().min(1).max(1_000).default(8),
        retryBaseMs: z.number().int().min(1).default(1_000),
        retryMaxMs: z.number().int().min(1).default(300_000),
      })
      .prefault({}),
    /**
     * Operator credential (`Authorization: Bearer …`, ≥ 32 characters) for `/status`, `/anchors`
     * and `POST /dead-letters/retry` (what `ehr-bridge status|verify|retry` send as
     * EHR_BRIDGE_TOKEN). A source's bearer secret is accepted too.
     */
    operatorToken: z.string().min(32, 'operatorToken must be at least 32 characters').optional(),
  })
  .superRefine((c, ctx) => {
    if (!c.deploymentFile && !c.anchorAddress) {
      ctx.addIssue({
        code: 'custom',
        path: ['deploymentFile'],
        message: 'set deploymentFile or anchorAddress',
      });
    }
    if (!c.signerKey && !c.signerKeyFile) {
      ctx.addIssue({ code: 'custom', path: ['signerKey'], message: 'set signerKey or signerKeyFile' });
    }
    if (!c.allowInsecure && c.sources.some((s) => s.auth.type === 'none')) {
      ctx.addIssue({
        code: 'custom',
        path: ['sources'],
        message: 'auth type "none" needs allowInsecure: true',
      });
    }
    if (!isLoopbackHost(c.host) && c.read.siweDomains.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['read', 'siweDomains'],
        message:
          'required when the bridge listens beyond loopback: the portal origins users sign in on (e.g. ["https://portal.example.org"])',
      });
    }
    if (c.ipfsReplication !== undefined && c.ipfsReplication > 1 + c.ipfsPeers.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['ipfsReplication'],
        message: `${c.ipfsReplication} copies need at least ${c.ipfsReplication - 1} ipfsPeers`,
      });
    }
    const norm = (u: string) => new URL(u).href;
    if (
      c.ipfsPeers.some((p) => norm(p) === norm(c.ipfsApiUrl)) ||
      new Set(c.ipfsPeers.map(norm)).size < c.ipfsPeers.length
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['ipfsPeers'],
        message: 'each peer must be another node than ipfsApiUrl, listed once',
      });
    }
    const ids = new Set<string>();
    for (const s of c.sources) {
      if (ids.has(s.id))
        ctx.addIssue({ code: 'custom', path: ['sources'], message: `duplicate source id ${s.id}` });
      ids.add(s.id);
    }
  });

export type BridgeConfig = z.infer<typeof BridgeConfigSchema>;
export type BridgeConfigInput = z.input<typeof BridgeConfigSchema>;

/** Environment variables, one per top-level field (`EHR_BRIDGE_SOURCES` is JSON). */
export const ENV_VARS: Record<string, keyof BridgeConfigInput> = {
  EHR_BRIDGE_HOST: 'host',
  EHR_BRIDGE_PORT: 'port',
  EHR_BRIDGE_LOG_LEVEL: 'logLevel',
  EHR_BRIDGE_OUTBOX: 'outbox',
  EHR_BRIDGE_IPFS_API_URL: 'ipfsApiUrl',
  EHR_BRIDGE_IPFS_PEERS: 'ipfsPeers',
  EHR_BRIDGE_IPFS_REPLICATION: 'ipfsReplication',
  EHR_BRIDGE_IPFS_PIN_NAME: 'ipfsPinName',
  EHR_BRIDGE_IPFS_SWEEP_MS: 'ipfsSweepMs',
  EHR_BRIDGE_RPC_URL: 'rpcUrl',
  EHR_BRIDGE_DEPLOYMENT_FILE: 'deploymentFile',
  EHR_BRIDGE_ANCHOR_ADDRESS: 'anchorAddress',
  EHR_BRIDGE_SIGNER_KEY: 'signerKey',
  EHR_BRIDGE_SIGNER_KEY_FILE: 'signerKeyFile',
  EHR_BRIDGE_KEY_STORE: 'keyStoreFile',
  EHR_BRIDGE_CREATE_KEYS: 'createKeys',
  EHR_BRIDGE_BATCH_MAX: 'batchMax',
  EHR_BRIDGE_BATCH_MAX_MS: 'batchMaxMs',
  EHR_BRIDGE_BODY_LIMIT: 'bodyLimit',
  EHR_BRIDGE_STORE_CHUNK: 'storeChunk',
  EHR_BRIDGE_STORE_CONCURRENCY: 'storeConcurrency',
  EHR_BRIDGE_SEAL_WORKERS: 'sealWorkers',
  EHR_BRIDGE_HEAP_GROWING_PERCENT: 'heapGrowingPercent',
  EHR_BRIDGE_SOURCES: 'sources',
  EHR_BRIDGE_ALLOW_INSECURE: 'allowInsecure',
  EHR_BRIDGE_WORKERS: 'workers',
  EHR_BRIDGE_RETRY_BASE_MS: 'retryBaseMs',
  EHR_BRIDGE_RETRY_MAX_MS: 'retryMaxMs',
  EHR_BRIDGE_OPERATOR_TOKEN: 'operatorToken',
};

/** Environment variables of nested fields: name → [path, kind]. Lists are comma-separated. */
export const NESTED_ENV_VARS: Record<string, [string[], 'list' | 'boolean' | 'number']> = {
  EHR_BRIDGE_SIWE_DOMAINS: [['read', 'siweDomains'], 'list'],
  EHR_BRIDGE_CORS_ORIGINS: [['read', 'corsOrigins'], 'list'],
  EHR_BRIDGE_RATE_LIMIT: [['limits', 'rateLimit'], 'boolean'],
  EHR_BRIDGE_SLOW_SENDER_WINDOW_MS: [['limits', 'slowSenderWindowMs'], 'number'],
};

export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`invalid bridge configuration:\n  - ${issues.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

const BOOLEAN_FIELDS = new Set(['createKeys', 'allowInsecure', 'workers']);
/** Comma-separated lists. */
const LIST_FIELDS = new Set(['ipfsPeers']);

function fromEnv(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const issues: string[] = [];
  for (const [name, field] of Object.entries(ENV_VARS)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    if (field === 'sources') {
      try {
        out[field] = JSON.parse(raw);
      } catch {
        issues.push(`${name}: not valid JSON`);
      }
    } else if (LIST_FIELDS.has(field)) {
      out[field] = raw
        .split(',')
        .map((v) => v.trim())
        .filter(Boolean);
    } else if (BOOLEAN_FIELDS.has(field)) {
      if (!/^(1|0|true|false|yes|no)$/i.test(raw)) issues.push(`${name}: expected true/false`);
      out[field] = /^(1|true|yes)$/i.test(raw);
    } else {
      out[field] = raw;
    }
  }
  for (const [name, [path, kind]] of Object.entries(NESTED_ENV_VARS)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    let value: unknown;
    if (kind === 'list')
      value = raw
        .split(',')
        .map((v) => v.trim())
        .filter(Boolean);
    else if (kind === 'boolean') {
      if (!/^(1|0|true|false|yes|no)$/i.test(raw)) issues.push(`${name}: expected true/false`);
      value = /^(1|true|yes)$/i.test(raw);
    } else value = Number(raw);
    const [group, field] = path as [string, string];
    out[group] = { ...(out[group] as object | undefined), [field]: value };
  }
  if (issues.length) throw new ConfigError(issues);
  return out;
}

/**
 * Validates a configuration object (e.g. built in code by tests or the stack) and returns the
 * parsed config with defaults applied.
 */
export function parseConfig(input: unknown): BridgeConfig {
  const result = BridgeConfigSchema.safeParse(input);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`),
    );
  }
  return result.data;
}

/**
 * Reads the JSON file named by `file` (or `EHR_BRIDGE_CONFIG`), overlays the environment and
 * validates the result. Secrets belong in the environment or in files readable only by the bridge.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, file = env.EHR_BRIDGE_CONFIG): BridgeConfig {
  let fromFile: Record<string, unknown> = {};
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new ConfigError([`config file ${file}: ${(error as Error).message}`]);
    }
    try {
      fromFile = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new ConfigError([`config file ${file}: not valid JSON`]);
    }
  }
  const overlay = fromEnv(env);
  const merged: Record<string, unknown> = { ...fromFile, ...overlay };
  for (const group of ['read', 'limits'])
    if (overlay[group] && typeof fromFile[group] === 'object')
      merged[group] = { ...(fromFile[group] as object), ...(overlay[group] as object) };
  return parseConfig(merged);
}
