/**
 * The read side's dependencies and its one authorization path. Every route goes through
 * {@link ReadSide.guard}: it authenticates the session (401), asks the chain at the latest block
 * whether the caller may do this (403 OperationOutcome), writes an AuditEvent for the outcome
 * either way, and only then runs the handler.
 */
import { SCOPES, scopeOf, type ScopeCategory } from '@ehr-anchor/contracts';
import type { SessionRoles } from '@ehr-anchor/core/api';
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import type { KuboRPCClient } from 'kubo-rpc-client';
import { HttpError, operationOutcome } from '../errors.js';
import type { KeyStore } from '../keys/keystore.js';
import type { Outbox } from '../outbox/types.js';
import { Auditor, type AuditAction, type AuditHttp, type AuditInput } from './audit.js';
import type { ChainReader } from './chain.js';
import { GoneError, RecordReader, TamperError } from './records.js';
import type { SessionIssuer } from './session.js';
import type { ReadStore } from './store.js';
import { timed, type ReadStage, type StageObserver } from './timing.js';

export interface ReadSideDeps {
  outbox: Outbox;
  keyStore: KeyStore;
  ipfs: KuboRPCClient;
  /** Kubo RPC base URL (documents stream to `/api/v0/add` directly). */
  ipfsApiUrl: string;
  /** Kubo RPC URLs of the peer nodes holding replicas: reads fall back to them. */
  ipfsPeers?: readonly string[];
  /** Reads content in full, falling back to the peers (IpfsStore.catBytes). */
  ipfsRead?: (cid: string, limit: number) => Promise<Uint8Array>;
  /** Copies a root this side pinned (a document's content) to the peers. */
  replicate?: (cid: string) => void;
  /** Erasure on every node holding copies: `before` (marking) runs only once every node answered. */
  ipfsRemove?: (cids: string[], before: () => void) => Promise<number>;
  chain: ChainReader;
  store: ReadStore;
  sessions: SessionIssuer;
  /** This bridge's anchoring account; its hospital (`hospitalOfSigner`) approves erasures and owns uploads. */
  bridgeSigner: string;
  /** The chain's id (asked once, lazily: the bridge starts even while the chain is down). */
  chainId: () => Promise<number>;
  log: FastifyBaseLogger;
  /** Outbox `source` of the versions the read side writes itself (AuditEvent, DocumentReference, Patient edits). */
  source?: string;
  /** FHIR server the patient's contact edits and the consent mirror are written to (fhir-kit-client). */
  fhir?: { baseUrl: string; headers?: Record<string, string> };
  /** Wakes the pipeline after the read side queued a version. */
  onQueued?: () => void;
  /** Largest document upload in bytes (default 256 MiB). */
  uploadLimit?: number;
  /** Window of aggregated refusals in the audit trail (seconds, default 60). */
  deniedAuditWindowSec?: number;
  /** Receives each request stage's wall time (the read-stage histogram). */
  observe?: StageObserver;
}

/** Refusals counted per actor, action and patient; see {@link ReadSide.audit}. */
export class DenialAudit {
  readonly #open = new Map<string, { input: AuditInput; start: number; count: number }>();
  readonly #timer: NodeJS.Timeout;

  constructor(
    readonly auditor: Auditor,
    readonly windowMs: number,
  ) {
    this.#timer = setInterval(() => void this.flush(false), Math.max(50, Math.min(5_000, windowMs / 2)));
    this.#timer.unref();
  }

  async note(input: AuditInput, now = Date.now()): Promise<void> {
    const key = `${input.actor ?? 'anonymous'}|${input.action}|${input.subject ?? ''}`;
    const open = this.#open.get(key);
    if (open && now - open.start < this.windowMs) {
      open.count++;
      return;
    }
    if (open) await this.#write(key, open, now);
    this.#open.set(key, { input, start: now, count: 0 });
    await this.auditor.record({ ...input, count: 1 });
  }

  async #write(key: string, open: { input: AuditInput; start: number; count: number }, now: number) {
    this.#open.delete(key);
    if (open.count === 0) return;
    await this.auditor.record({
      ...open.input,
      count: open.count,
      period: { start: new Date(open.start), end: new Date(now) },
      reason: `${open.count} more refused requests in this period${open.input.reason ? ` (last: ${open.input.reason})` : ''}`,
    });
  }

  /** Writes the counts of windows that ended (all of them with `all`, e.g. on close). */
  async flush(all: boolean, now = Date.now()): Promise<void> {
    for (const [key, open] of [...this.#open])
      if (all || now - open.start >= this.windowMs) await this.#write(key, open, now).catch(() => undefined);
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush(true);
  }
}

export interface Actor {
  address: string;
  /** Roles at the latest block (`subjects` left empty: ask `patientOf(subject)` instead). */
  roles: SessionRoles & { patient: boolean };
}

export type Role = 'patient' | 'doctor' | 'hospital' | 'admin' | 'other-patient' | 'stranger' | 'anonymous';

/** How the access log names the caller (`self`: the caller is the wallet the subject belongs to). */
export function roleLabel(actor: Actor | null, self: boolean): Role {
  if (!actor) return 'anonymous';
  const r = actor.roles;
  if (self) return 'patient';
  if (r.doctorOf) return 'doctor';
  if (r.hospital) return 'hospital';
  if (r.admin) return 'admin';
  if (r.patient) return 'other-patient';
  return 'stranger';
}

export const forbidden = (message = 'no valid grant covers this request') =>
  new HttpError(403, 'security', message);

/** The HTTP exchange as the AuditEvent records it: socket addresses (not headers a client can forge). */
export function auditHttp(req: FastifyRequest): AuditHttp {
  return {
    method: req.method,
    path: req.url,
    clientAddress: req.socket.remoteAddress ?? req.ip,
    serverAddress: req.socket.localAddress ?? 'unknown',
  };
}

/**
 * The one refusal of a record asked for by number, the same whether it does not exist or the
 * caller may not read it (so numbers cannot be probed for what exists, or what kind of record it is).
 */
export const NOT_READABLE = 'no record you may read has this number';
export const notReadable = () => new HttpError(403, 'security', NOT_READABLE);

/** Runs `fn`, turning any 403 into {@link notReadable} (its reason stays in the audit trail only). */
export async function uniformly<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof HttpError && error.statusCode === 403) throw notReadable();
    throw error;
  }
}

export interface GuardSpec {
  action: AuditAction;
  subject?: string | null;
  /** Scope bits the caller needs on `subject` (checked with `canRead` at the latest block). */
  scope?: number;
  /** Extra check after authentication (e.g. "only the patient"), returning a refusal reason or null. */
  check?: (actor: Actor) => Promise<string | null> | string | null;
  entity?: AuditInput['entity'];
}

export class ReadSide {
  readonly records: RecordReader;
  readonly auditor: Auditor;
  readonly source: string;
  readonly uploadLimit: number;

  readonly denials: DenialAudit;

  constructor(readonly deps: ReadSideDeps) {
    this.source = deps.source ?? 'bridge-read';
    this.uploadLimit = deps.uploadLimit ?? 256 * 1024 * 1024;
    this.records = new RecordReader(deps);
    this.auditor = new Auditor({
      outbox: deps.outbox,
      store: deps.store,
      source: this.source,
      chainId: deps.chainId,
      onQueued: () => deps.onQueued?.(),
      pseudonymKey: deps.keyStore.pseudonymKey(),
    });
    this.denials = new DenialAudit(this.auditor, (deps.deniedAuditWindowSec ?? 60) * 1000);
  }

  get chain(): ChainReader {
    return this.deps.chain;
  }

  /** The hospital this bridge anchors for, at the latest block. */
  async hospital(): Promise<string | null> {
    return this.deps.chain.hospitalOfSigner(this.deps.bridgeSigner);
  }

  /** The signed-in caller with roles read from the chain now; 401 without a valid session. */
  async actor(req: FastifyRequest): Promise<Actor> {
    const header = req.headers.authorization;
    const token =
      typeof header === 'string' && /^Bearer\s+/i.test(header)
        ? header.replace(/^Bearer\s+/i, '')
        : undefined;
    const session = await this.timed('session', () => this.deps.sessions.verify(token));
    return {
      address: session.address,
      roles: await this.timed('chain', () => this.deps.chain.roles(session.address, { subjects: false })),
    };
  }

  /**
   * Authenticates, authorizes from chain state and audits; returns the actor to the handler.
   * The handler may audit more detail itself by passing `entity` later via {@link audit}.
   */
  async guard(req: FastifyRequest, spec: GuardSpec): Promise<Actor> {
    let actor: Actor | null = null;
    try {
      const current = await this.actor(req);
      actor = current;
      const { subject, scope } = spec;
      const address = current.address;
      if (
        subject &&
        scope !== undefined &&
        !(await this.timed('chain', () => this.deps.chain.canRead(address, subject, scope)))
      ) {
        throw forbidden();
      }
      const check = spec.check;
      const reason = check ? await this.timed('chain', () => check(current)) : null;
      if (reason) throw forbidden(reason);
    } catch (error) {
      if (error instanceof HttpError && (error.statusCode === 401 || error.statusCode === 403)) {
        await this.audit({ ...spec, actor, outcome: 'denied', reason: error.message, req });
      }
      throw error;
    }
    return actor;
  }

  /**
   * The whole life of a request: guard (401/403 audited as denied), the handler, then one audit
   * entry for its outcome. The handler may fill `spec.entity` once it knows the record.
   */
  async run<T>(req: FastifyRequest, spec: GuardSpec, handler: (actor: Actor) => Promise<T>): Promise<T> {
    const actor = await this.guard(req, spec);
    let result: T;
    try {
      result = await handler(actor);
    } catch (error) {
      const reason = error instanceof HttpError ? error.message : 'internal error';
      await this.audit({ ...spec, actor, outcome: 'denied', reason, req });
      throw error;
    }
    await this.audit({ ...spec, actor, outcome: 'allowed', req });
    return result;
  }

  /** True when `actor` is the wallet `subject` is bound to, at the latest block. */
  async isPatientSelf(actor: Actor, subject: string): Promise<boolean> {
    return (await this.deps.chain.patientOf(subject)) === actor.address;
  }

  /**
   * One audit entry for an outcome. Allowed requests are recorded one by one; refusals go through
   * {@link denials}: the first of an actor's refusals (same action, same patient) in a window is
   * recorded at once, the rest are counted and recorded as one AuditEvent with the count and the
   * period when the window ends — so a stranger's flood costs one anchored record per window,
   * not one each.
   */
  async audit(
    spec: GuardSpec & {
      actor: Actor | null;
      outcome: 'allowed' | 'denied';
      reason?: string;
      req?: FastifyRequest;
    },
  ): Promise<void> {
    const subject = spec.subject;
    const self =
      spec.actor !== null &&
      !!subject &&
      (await this.timed('chain', () => this.deps.chain.patientOf(subject))) === spec.actor.address;
    const input: AuditInput = {
      action: spec.action,
      outcome: spec.outcome,
      actor: spec.actor?.address ?? null,
      role: roleLabel(spec.actor, self),
      subject: spec.subject ?? null,
      entity: spec.entity ?? null,
      ...(spec.reason ? { reason: spec.reason } : {}),
      ...(spec.req ? { http: auditHttp(spec.req) } : {}),
    };
    await this.timed('audit', async () => {
      if (spec.outcome === 'denied') await this.denials.note(input);
      else await this.auditor.record(input);
    });
  }

  /** Runs `fn`, reporting its wall time as a stage of the request (the read-stage histogram). */
  timed<T>(stage: ReadStage, fn: () => Promise<T> | T): Promise<T> {
    return timed(this.deps.observe, stage, fn);
  }

  /** The categories of `subject` the actor may read now (one `canRead` per category, in parallel). */
  async readableScope(actor: Actor, subject: string): Promise<number> {
    const entries = Object.entries(SCOPES) as [ScopeCategory, number][];
    const allowed = await Promise.all(
      entries.map(([, bit]) => this.deps.chain.canRead(actor.address, subject, bit)),
    );
    return entries.reduce((mask, [, bit], i) => (allowed[i] ? mask | bit : mask), 0);
  }

  scopeOf(resourceType: string): number {
    return scopeOf(resourceType);
  }
}

/**
 * Error handler of the read routes: the two outcomes only the read side produces (409 with the tamper
 * reason, 410 with the leaf hash); everything else goes on to the app's one error handler
 * (plugins/errors.ts), so statuses and messages stay the same across the bridge.
 */
export function readErrorHandler(error: Error, req: FastifyRequest, reply: FastifyReply): void {
  if (error instanceof TamperError) {
    req.log.warn({ reason: error.reason }, 'record failed verification');
    void reply.code(409).type('application/fhir+json').send(error.outcome());
    return;
  }
  if (error instanceof GoneError) {
    const outcome = operationOutcome('error', 'not-found', error.message);
    if (error.leaf)
      outcome.issue[0]!.details = { coding: [{ system: 'urn:ehr-anchor:leaf', code: error.leaf }] };
    void reply.code(410).type('application/fhir+json').send(outcome);
    return;
  }
  throw error;
}
