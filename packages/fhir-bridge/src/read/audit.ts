/**
 * Every read, search, download, upload, edit and refused attempt becomes a FHIR R4 `AuditEvent`
 * that follows the IHE Basic Audit Log Patterns (BALP 1.1.4, validated against its profiles in the
 * interop suite): who (the wallet, as a `did:pkh`), from where (client and server addresses), on
 * which patient (the pseudonymous subject, never an id or name), what resource or query, what
 * outcome. The event
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

/** The HTTP exchange an event records (BALP's client and server agents, and a query's request line). */
export interface AuditHttp {
  method: string;
  /** Path and query string; the read API never puts PHI in URLs (search terms go in POST bodies). */
  path: string;
  /** The client's IP address as the bridge saw it. */
  clientAddress: string;
  /** The bridge's own address on that connection. */
  serverAddress: string;
}

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
  /** The request, when the event comes from one. */
  http?: AuditHttp;
  /** Refusals this entry stands for (aggregated denials, read/context.ts DenialAudit). */
  count?: number;
  /** The period an aggregated entry covers. */
  period?: { start: Date; end: Date };
}

const BALP = 'https://profiles.ihe.net/ITI/BALP/StructureDefinition';
type Pattern = 'Query' | 'Read' | 'Create' | 'Update' | 'Delete';
const PATTERN: Record<AuditAction, Pattern> = {
  list: 'Query',
  search: 'Query',
  'access-log': 'Query',
  consent: 'Query',
  read: 'Read',
  download: 'Read',
  upload: 'Create',
  edit: 'Update',
  erasure: 'Delete',
};
const INTERACTION: Record<Pattern, { code: string; action: AuditEvent['action'] }> = {
  Query: { code: 'search-type', action: 'E' },
  Read: { code: 'read', action: 'R' },
  Create: { code: 'create', action: 'C' },
  Update: { code: 'update', action: 'U' },
  Delete: { code: 'delete', action: 'D' },
};
type Coding = { system: string; code: string; display: string };
const DCM = 'http://dicom.nema.org/resources/ontology/DCM';
const SOURCE_ROLE: Coding = { system: DCM, code: '110153', display: 'Source Role ID' };
const DESTINATION_ROLE: Coding = { system: DCM, code: '110152', display: 'Destination Role ID' };
/** The client sends data (query, create, update) or receives it (read). */
const CLIENT_SENDS = { client: SOURCE_ROLE, server: DESTINATION_ROLE };
const CLIENT_RECEIVES = { client: DESTINATION_ROLE, server: SOURCE_ROLE };
/** The agent types each BALP pattern fixes for its client and server slices. */
const AGENT_TYPES: Record<Pattern, { client: Coding; server: Coding }> = {
  Query: CLIENT_SENDS,
  Read: CLIENT_RECEIVES,
  Create: CLIENT_SENDS,
  Update: CLIENT_SENDS,
  Delete: {
    client: { system: DCM, code: '110150', display: 'Application' },
    server: {
      system: 'http://terminology.hl7.org/CodeSystem/provenance-participant-type',
      code: 'custodian',
      display: 'Custodian',
    },
  },
};

const ENTITY_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-entity-type';
const OBJECT_ROLE = 'http://terminology.hl7.org/CodeSystem/object-role';

export const SUBJECT_SYSTEM = 'urn:ehr-anchor:subject';

/**
 * The FHIR R4 AuditEvent of one request. An allowed request that carries what its BALP pattern
 * requires (the HTTP exchange; for a read, create, update or delete the record) claims that
 * pattern in `meta.profile`: `IHE.BasicAudit.Patient{Query,Read,Create,Update,Delete}` when it is
 * about a patient, the plain pattern otherwise. A refused one keeps the same shape with outcome 4
 * and claims no profile: BALP's RESTful patterns record successful operations (outcome fixed to 0).
 */
export function auditEventFor(
  input: AuditInput,
  chainId: number,
  id = randomUUID(),
  recorded = new Date(),
): AuditEvent {
  const pattern = PATTERN[input.action];
  const interaction = INTERACTION[pattern];
  const http = input.http;
  const entity: NonNullable<AuditEvent['entity']> = [];
  const record = input.entity;
  if (input.subject) {
    entity.push({
      what: {
        type: 'Patient',
        // A search that disclosed a patient names the Patient version it returned.
        ...(pattern === 'Query' && record?.resourceType === 'Patient'
          ? { reference: `Patient/${record.resourceId}/_history/${record.versionId}` }
          : {}),
        identifier: { system: SUBJECT_SYSTEM, value: input.subject },
      },
      type: { system: ENTITY_TYPE, code: '1', display: 'Person' },
      role: { system: OBJECT_ROLE, code: '1', display: 'Patient' },
    });
  }
  if (pattern === 'Query') {
    if (http) {
      entity.push({
        type: { system: ENTITY_TYPE, code: '2', display: 'System Object' },
        role: { system: OBJECT_ROLE, code: '24', display: 'Query' },
        query: Buffer.from(`${http.method} ${http.path}`, 'utf8').toString('base64'),
      });
    }
  } else if (record) {
    entity.push({
      what: { reference: `${record.resourceType}/${record.resourceId}/_history/${record.versionId}` },
      type: { system: ENTITY_TYPE, code: '2', display: 'System Object' },
      role: { system: OBJECT_ROLE, code: '4', display: 'Domain Resource' },
    });
  }
  const agent: AuditEvent['agent'] = [
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
  ];
  if (http) {
    agent.push(
      {
        type: { coding: [AGENT_TYPES[pattern].client] },
        who: { display: 'client of the bridge read API' },
        requestor: false,
        network: { address: http.clientAddress, type: '2' },
      },
      {
        type: { coding: [AGENT_TYPES[pattern].server] },
        who: { display: 'ehr-anchor fhir-bridge' },
        requestor: false,
        network: { address: http.serverAddress, type: '2' },
      },
    );
  }
  const conforms =
    input.outcome === 'allowed' && http !== undefined && (pattern === 'Query' || record != null);
  const profile = `${BALP}/IHE.BasicAudit.${input.subject ? 'Patient' : ''}${pattern}`;
  return {
    resourceType: 'AuditEvent',
    id,
    meta: { versionId: '1', ...(conforms ? { profile: [profile] } : {}) },
    type: {
      system: 'http://terminology.hl7.org/CodeSystem/audit-event-type',
      code: 'rest',
      display: 'RESTful Operation',
    },
    subtype: [{ system: 'http://hl7.org/fhir/restful-interaction', code: interaction.code }],
    action: interaction.action,
    recorded: recorded.toISOString(),
    ...(input.period
      ? { period: { start: input.period.start.toISOString(), end: input.period.end.toISOString() } }
      : {}),
    // 0 success; 4 minor failure (a refused request).
    outcome: input.outcome === 'allowed' ? '0' : '4',
    ...(input.reason ? { outcomeDesc: input.reason } : {}),
    agent,
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
    ...(entity.length ? { entity } : {}),
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
