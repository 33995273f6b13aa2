/**
 * Every read, search, download, upload, edit and refused attempt becomes a FHIR R4 `AuditEvent`
 * shaped like the IHE Basic Audit Log Patterns (BALP): who (the wallet, as a `did:pkh`), on which
 * patient (the pseudonymous subject, never an id or name), what resource, what outcome. The event
 * goes into the outbox like any record, so the pipeline seals it, stores it on IPFS and anchors it
 * in the next batch: the audit log is itself tamper-evident. A PHI-free summary row is kept in the
 * read store for the patient's "who accessed my records" list.
 */
import { randomUUID } from 'node:crypto';
import { contentHash, pseudonym, type Hex } from '@ehr-anchor/core';
import type { AuditEvent } from 'fhir/r4';
import type { Outbox } from '../outbox/types.js';
import { NO_SUBJECT } from '../ingest/prepare.js';
import type { ReadStore } from './store.js';

export type AuditAction =
  'list' | 'read' | 'search' | 'download' | 'upload' | 'edit' | 'consent' | 'erasure' | 'access-log';

export interface AuditInput {
  action: AuditAction;
  outcome: 'allowed' | 'denied';
  actor: string | null;
  role: string;
  /** The patient the request was about (pseudonymous subject), when known. */
  subject?: string | null;
  /** The record touched, when one was. */
  entity?: { resourceType: string; resourceId: string; versionId: string; seq: number } | null;
  /** Why it was refused (no PHI: a fixed reason text). */
  reason?: string;
}

const BALP = 'https://profiles.ihe.net/ITI/BALP/StructureDefinition';
const PROFILE: Record<AuditAction, string> = {
  list: `${BALP}/IHE.BasicAudit.PatientQuery`,
  search: `${BALP}/IHE.BasicAudit.PatientQuery`,
  read: `${BALP}/IHE.BasicAudit.PatientRead`,
  download: `${BALP}/IHE.BasicAudit.PatientRead`,
  'access-log': `${BALP}/IHE.BasicAudit.PatientQuery`,
  upload: `${BALP}/IHE.BasicAudit.PatientCreate`,
  edit: `${BALP}/IHE.BasicAudit.PatientUpdate`,
  consent: `${BALP}/IHE.BasicAudit.PatientQuery`,
  erasure: `${BALP}/IHE.BasicAudit.PatientDelete`,
};
const INTERACTION: Record<AuditAction, { code: string; action: AuditEvent['action'] }> = {
  list: { code: 'search-type', action: 'E' },
  search: { code: 'search-type', action: 'E' },
  'access-log': { code: 'search-type', action: 'E' },
  consent: { code: 'search-type', action: 'E' },
  read: { code: 'read', action: 'R' },
  download: { code: 'read', action: 'R' },
  upload: { code: 'create', action: 'C' },
  edit: { code: 'update', action: 'U' },
  erasure: { code: 'delete', action: 'D' },
};

export const SUBJECT_SYSTEM = 'urn:ehr-anchor:subject';

export function auditEventFor(
  input: AuditInput,
  chainId: number,
  id = randomUUID(),
  recorded = new Date(),
): AuditEvent {
  const interaction = INTERACTION[input.action];
  const entity: NonNullable<AuditEvent['entity']> = [];
  if (input.subject) {
    entity.push({
      what: { identifier: { system: SUBJECT_SYSTEM, value: input.subject } },
      type: {
        system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type',
        code: '1',
        display: 'Person',
      },
      role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '1', display: 'Patient' },
    });
  }
  if (input.entity) {
    const e = input.entity;
    entity.push({
      what: { reference: `${e.resourceType}/${e.resourceId}/_history/${e.versionId}` },
      type: {
        system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type',
        code: '2',
        display: 'System Object',
      },
      role: {
        system: 'http://terminology.hl7.org/CodeSystem/object-role',
        code: '4',
        display: 'Domain Resource',
      },
    });
  }
  return {
    resourceType: 'AuditEvent',
    id,
    meta: { versionId: '1', profile: [PROFILE[input.action]] },
    type: {
      system: 'http://terminology.hl7.org/CodeSystem/audit-event-type',
      code: 'rest',
      display: 'RESTful Operation',
    },
    subtype: [{ system: 'http://hl7.org/fhir/restful-interaction', code: interaction.code }],
    action: interaction.action,
    recorded: recorded.toISOString(),
    // 0 success; 4 minor failure (BALP records refused access as a failure of the request).
    outcome: input.outcome === 'allowed' ? '0' : '4',
    ...(input.reason ? { outcomeDesc: input.reason } : {}),
    agent: [
      {
        type: {
          coding: [
            {
              system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType',
              code: 'IRCP',
              display: 'information recipient',
            },
          ],
        },
        who: input.actor
          ? { identifier: { system: 'urn:ietf:rfc:3986', value: `did:pkh:eip155:${chainId}:${input.actor}` } }
          : { display: 'no session' },
        role: [{ text: input.role }],
        requestor: true,
      },
    ],
    source: {
      observer: { display: 'ehr-anchor fhir-bridge' },
      type: [
        {
          system: 'http://terminology.hl7.org/CodeSystem/security-source-type',
          code: '4',
          display: 'Application Server',
        },
      ],
    },
    entity,
  };
}

export class Auditor {
  /** AuditEvents written (for metrics and tests). */
  written = 0;

  constructor(
    readonly deps: {
      outbox: Outbox;
      store: ReadStore;
      source: string;
      chainId: () => Promise<number>;
      onQueued: () => void;
      pseudonymKey: Uint8Array;
    },
  ) {}

  async record(input: AuditInput): Promise<string> {
    const id = randomUUID();
    const now = new Date();
    const event = auditEventFor(input, await this.deps.chainId(), id, now);
    const subject = (input.subject ?? NO_SUBJECT) as Hex;
    // The event's leaf gets its own pseudonym (of "audit:<subject>"), so audit trails never crowd
    // the patient's record list, and stay unlinkable to the subject for anyone without the key.
    const leafSubject = input.subject
      ? await pseudonym(`audit:${input.subject}`, this.deps.pseudonymKey)
      : NO_SUBJECT;
    const [result] = await this.deps.outbox.enqueue([
      {
        source: this.deps.source,
        resourceType: 'AuditEvent',
        resourceId: id,
        versionId: '1',
        contentHash: await contentHash(event),
        subject: leafSubject,
        deleted: false,
        body: new TextEncoder().encode(JSON.stringify(event)),
      },
    ]);
    this.deps.store.addAudit({
      id,
      subject,
      recorded: now.getTime(),
      actor: input.actor,
      role: input.role,
      action: input.action,
      outcome: input.outcome,
      entity: input.entity ? `${input.entity.resourceType}#${input.entity.seq}` : null,
      auditSeq: result?.seq ?? null,
    });
    this.written++;
    this.deps.onQueued();
    return id;
  }
}
