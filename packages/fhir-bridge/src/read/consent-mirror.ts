/**
 * Consent mirror: the contract's AccessGranted / AccessRevoked events become FHIR R4 `Consent`
 * resources (provision permit with the grantee as actor, the expiry as period end, the scope's
 * categories as provision classes); a revocation sets status `inactive`, and a grant past its
 * expiry reads as `inactive` too. The chain stays the authority — every request is still decided
 * by `canRead` — the mirror is for people and for FHIR systems (written back to the FHIR server
 * when one is configured, with fhir-kit-client).
 *
 * Patients are named by wallet (`did:pkh`), never by a patient id; the copy written to the FHIR
 * server references the Patient resource there, which the bridge knows from the outbox.
 */
import { createHash } from 'node:crypto';
import { NO_EXPIRY, scopeCategories } from '@ehr-anchor/contracts';
import type { FastifyBaseLogger } from 'fastify';
import type { Consent } from 'fhir/r4';
import { Client, type FhirResource } from 'fhir-kit-client';
import type { Outbox } from '../outbox/types.js';
import type { ChainReader, GrantEvent } from './chain.js';
import type { ConsentRow, ReadStore } from './store.js';

const BLOCK_KEY = 'consent-mirror:block';
export const SCOPE_SYSTEM = 'urn:ehr-anchor:scope';

export function consentId(patient: string, grantee: string): string {
  return `ehr-${createHash('sha256').update(`${patient.toLowerCase()}:${grantee.toLowerCase()}`).digest('hex').slice(0, 32)}`;
}

export function didPkh(chainId: number, address: string): string {
  return `did:pkh:eip155:${chainId}:${address}`;
}

export function consentResource(
  e: GrantEvent,
  previous: ConsentRow | undefined,
  chainId: number,
  at: Date,
): Consent {
  const prev = previous ? (JSON.parse(previous.resource) as Consent) : undefined;
  const version = (previous?.version ?? 0) + 1;
  const granted = e.kind === 'granted';
  const provision: Consent['provision'] = granted
    ? {
        type: 'permit',
        period: {
          start: at.toISOString(),
          ...(e.expiresAt >= NO_EXPIRY ? {} : { end: new Date(Number(e.expiresAt) * 1000).toISOString() }),
        },
        actor: [
          {
            role: {
              coding: [
                {
                  system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType',
                  code: 'IRCP',
                  display: 'information recipient',
                },
              ],
            },
            reference: { identifier: { system: 'urn:ietf:rfc:3986', value: didPkh(chainId, e.grantee) } },
          },
        ],
        class: scopeCategories(e.scope).map((c) => ({ system: SCOPE_SYSTEM, code: c })),
      }
    : prev?.provision;
  return {
    resourceType: 'Consent',
    id: consentId(e.patient, e.grantee),
    meta: { versionId: String(version) },
    status: granted ? 'active' : 'inactive',
    scope: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }],
    },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0', display: 'Patient Consent' }] }],
    patient: { identifier: { system: 'urn:ietf:rfc:3986', value: didPkh(chainId, e.patient) } },
    dateTime: at.toISOString(),
    performer: [{ identifier: { system: 'urn:ietf:rfc:3986', value: didPkh(chainId, e.patient) } }],
    policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
    sourceReference: { identifier: { system: 'urn:ehr-anchor:tx', value: e.txHash } },
    ...(provision ? { provision } : {}),
  };
}

/** The consent as shown now: a grant past its period end is inactive. */
export function currentView(row: ConsentRow, now = Date.now()): Consent {
  const c = JSON.parse(row.resource) as Consent;
  const end = c.provision?.period?.end;
  if (c.status === 'active' && end && Date.parse(end) <= now) c.status = 'inactive';
  return c;
}

export class ConsentMirror {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  readonly #client: Client | undefined;

  constructor(
    readonly deps: {
      chain: ChainReader;
      store: ReadStore;
      outbox: Outbox;
      chainId: () => Promise<number>;
      fromBlock: number;
      log: FastifyBaseLogger;
      fhir?: { baseUrl: string; headers?: Record<string, string> };
      /** Per-consent attempts before a write-back becomes a dead letter. */
      writeBack?: { maxAttempts: number; retryBaseMs: number; retryMaxMs: number };
      /** Patient id on the FHIR server for a wallet, if the bridge knows one (never logged). */
      patientIdOf?: (wallet: string) => Promise<string | undefined>;
    },
  ) {
    this.#client = deps.fhir
      ? new Client({ baseUrl: deps.fhir.baseUrl, customHeaders: deps.fhir.headers ?? {} })
      : undefined;
  }

  start(intervalMs = 1000): void {
    const tick = () => {
      void this.sync()
        .catch((error: unknown) =>
          this.deps.log.warn({ err: { message: (error as Error).message } }, 'consent mirror step failed'),
        )
        .finally(() => {
          if (this.#timer) this.#timer = setTimeout(tick, intervalMs);
        });
    };
    this.#timer = setTimeout(tick, 10);
  }

  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  /** Applies every event up to the latest block, then writes pending versions back (one run at a time). */
  sync(): Promise<void> {
    this.#running ??= this.#sync().finally(() => (this.#running = undefined));
    return this.#running;
  }

  async #sync(): Promise<void> {
    const from = Number(this.deps.store.get(BLOCK_KEY) ?? String(this.deps.fromBlock - 1)) + 1;
    const to = await this.deps.chain.blockNumber();
    if (to >= from) {
      const events = await this.deps.chain.grantEvents(from, to);
      const now = new Date();
      const chainId = await this.deps.chainId();
      for (const e of events) {
        const previous = this.deps.store.consent(e.patient, e.grantee);
        const resource = consentResource(e, previous, chainId, now);
        this.deps.store.upsertConsent({
          patient: e.patient,
          grantee: e.grantee,
          scope: e.scope,
          expiresAt: e.expiresAt.toString(),
          status: e.kind === 'granted' ? 'active' : 'inactive',
          blockNumber: e.blockNumber,
          txHash: e.txHash,
          version: Number(resource.meta!.versionId),
          resource: JSON.stringify(resource),
        });
      }
      this.deps.store.set(BLOCK_KEY, String(to));
    }
    if (this.#client) await this.#writeBack();
  }

  /**
   * Writes pending Consent versions to the FHIR server. Each consent has its own attempts: a 5xx
   * backs that one off while the others proceed; after `writeBack.maxAttempts` (or at once for a
   * 4xx: the server refuses it) it is a dead letter, counted in `/status` and put back by
   * `ehr-bridge retry`. A server that does not answer at all stops this round (an outage).
   */
  async #writeBack(): Promise<void> {
    const now = await this.deps.chain.now();
    const limits = this.deps.writeBack ?? { maxAttempts: 8, retryBaseMs: 1_000, retryMaxMs: 300_000 };
    for (const row of this.deps.store.consentsToWrite(Date.now())) {
      const resource = currentView(row, now);
      delete resource.meta;
      const patientId = await this.deps.patientIdOf?.(row.patient);
      if (patientId) resource.patient = { reference: `Patient/${patientId}` };
      try {
        await this.#client!.update({
          resourceType: 'Consent',
          id: resource.id!,
          body: resource as unknown as FhirResource,
        });
        this.deps.store.consentWritten(row.patient, row.grantee, row.version, resource.id!);
      } catch (error) {
        const status = (error as { response?: { status?: number } }).response?.status;
        if (!status) {
          this.deps.log.warn('Consent write-back: the FHIR server did not answer; will retry');
          return;
        }
        const attempts = row.attempts + 1;
        const dead = status < 500 || attempts >= limits.maxAttempts;
        const delay = Math.min(limits.retryMaxMs, limits.retryBaseMs * 2 ** Math.min(attempts - 1, 20));
        this.deps.store.consentWriteFailed(
          row.patient,
          row.grantee,
          `HTTP ${status}`,
          Date.now() + delay,
          dead,
        );
        this.deps.log.warn(
          { status, attempts, dead },
          dead
            ? 'Consent write-back gave up: dead letter (ehr-bridge retry)'
            : 'Consent write-back failed; will retry',
        );
      }
    }
  }
}
