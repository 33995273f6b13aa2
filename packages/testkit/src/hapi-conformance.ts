import type { Basic, OperationOutcome, OperationOutcomeIssue, Subscription } from 'fhir/r4';
import { fhirJson } from './hapi.js';
import { waitFor } from './wait.js';

/**
 * FHIR conformance helpers for the HAPI server of tools/fhir-server: `$validate` with HAPI's
 * validator (FHIR core validator, R4 core + terminology, the vendored IHE BALP 1.1.4 profiles), and
 * R4 backport topic-based Subscriptions (Subscriptions R5 Backport IG; the topic stored as a
 * `Basic`, which HAPI 8.8's `R4SubscriptionTopicLoader` reads).
 */

export interface ValidationResult {
  /** `error` and `fatal` issues: the resource does not conform. */
  errors: OperationOutcomeIssue[];
  warnings: OperationOutcomeIssue[];
  /** Every issue HAPI reported, `information` included. */
  issues: OperationOutcomeIssue[];
}

/** `severity expression: diagnostics` of one issue, for messages and reports. */
export function describeIssue(issue: OperationOutcomeIssue): string {
  const where = issue.expression?.[0] ?? issue.location?.[0] ?? '';
  return `${issue.severity} ${where}: ${issue.diagnostics ?? issue.details?.text ?? issue.code}`;
}

/**
 * Validates a resource with the server's `$validate` (`POST {base}/{type}/$validate`): against R4
 * core and every profile it claims in `meta.profile`, and against `profile` when given. The
 * server stores nothing.
 */
export async function validateResource(
  fhirBaseUrl: string,
  resource: { resourceType: string },
  profile?: string,
): Promise<ValidationResult> {
  const query = profile ? `?profile=${encodeURIComponent(profile)}` : '';
  const response = await fetch(`${fhirBaseUrl}/${resource.resourceType}/$validate${query}`, {
    method: 'POST',
    headers: { accept: 'application/fhir+json', 'content-type': 'application/fhir+json' },
    body: JSON.stringify(resource),
  });
  const text = await response.text();
  const outcome = JSON.parse(text) as OperationOutcome;
  // HAPI answers 412 Precondition Failed with the OperationOutcome when there are errors.
  if (outcome.resourceType !== 'OperationOutcome' || (!response.ok && response.status !== 412))
    throw new Error(`$validate ${resource.resourceType}: HTTP ${response.status} ${text.slice(0, 500)}`);
  const issues = outcome.issue ?? [];
  return {
    errors: issues.filter((i) => i.severity === 'error' || i.severity === 'fatal'),
    warnings: issues.filter((i) => i.severity === 'warning'),
    issues,
  };
}

const BACKPORT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition';
const TOPIC_EXT_R5 = 'http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic';
const TOPIC_EXT_R4B = 'http://hl7.org/fhir/4.3/StructureDefinition/extension-SubscriptionTopic';

export interface TopicOptions {
  /** Canonical URL of the topic (what a Subscription's `criteria` names). */
  url: string;
  title?: string;
  /** One resource trigger per type: a notification on each create and update of that type. */
  resourceTypes: readonly string[];
  interactions?: readonly ('create' | 'update' | 'delete')[];
}

/**
 * Stores an R4 backport SubscriptionTopic as a `Basic` (code `fhir-types#SubscriptionTopic`, the
 * cross-version `extension-SubscriptionTopic.*` extensions), or reuses the one with that URL.
 * @returns `Basic/{id}`
 */
export async function createSubscriptionTopic(fhirBaseUrl: string, options: TopicOptions): Promise<string> {
  const existing = await fhirJson<{ entry?: { resource: Basic }[] }>(
    `${fhirBaseUrl}/Basic?code=${encodeURIComponent('http://hl7.org/fhir/fhir-types|SubscriptionTopic')}`,
    { headers: { 'cache-control': 'no-cache' } },
  );
  const same = existing.entry?.find((e) =>
    e.resource.extension?.some((x) => x.url === `${TOPIC_EXT_R5}.url` && x.valueUri === options.url),
  );
  if (same) return `Basic/${same.resource.id}`;
  const interactions = options.interactions ?? ['create', 'update'];
  const topic: Basic = {
    resourceType: 'Basic',
    code: { coding: [{ system: 'http://hl7.org/fhir/fhir-types', code: 'SubscriptionTopic' }] },
    extension: [
      { url: `${TOPIC_EXT_R5}.url`, valueUri: options.url },
      { url: `${TOPIC_EXT_R5}.title`, valueString: options.title ?? options.url },
      ...options.resourceTypes.map((type) => ({
        url: `${TOPIC_EXT_R4B}.resourceTrigger`,
        extension: [
          { url: 'resource', valueUri: type },
          ...interactions.map((code) => ({ url: 'supportedInteraction', valueCode: code })),
        ],
      })),
    ],
    modifierExtension: [{ url: `${TOPIC_EXT_R5}.status`, valueCode: 'active' }],
  };
  const created = await fhirJson<Basic>(`${fhirBaseUrl}/Basic`, {
    method: 'POST',
    body: JSON.stringify(topic),
  });
  return `Basic/${created.id}`;
}

export type TopicPayload = 'full-resource' | 'id-only' | 'empty';

export interface TopicSubscriptionOptions {
  /** The topic's canonical URL. */
  topic: string;
  /** Backport filter criteria (`ServiceRequest?intent=order`); HAPI requires one. */
  filter: string;
  endpoint: string;
  /** `channel.header` lines, e.g. `Authorization: Bearer …`. */
  headers: readonly string[];
  content: TopicPayload;
  /** `backport-heartbeat-period`: a heartbeat after this many seconds without a notification. */
  heartbeatSeconds?: number;
  reason?: string;
  timeoutMs?: number;
}

/**
 * Creates an R4 backport topic-based Subscription (profile `backport-subscription`, `criteria` =
 * topic URL, `backport-filter-criteria`, `backport-payload-content`, optional
 * `backport-heartbeat-period`) and waits until HAPI reports it `active`.
 * @returns `Subscription/{id}`
 */
export async function createTopicSubscription(
  fhirBaseUrl: string,
  options: TopicSubscriptionOptions,
): Promise<string> {
  const subscription: Subscription = {
    resourceType: 'Subscription',
    meta: { profile: [`${BACKPORT}/backport-subscription`] },
    status: 'requested',
    reason: options.reason ?? `ehr-anchor topic subscription (${options.content})`,
    criteria: options.topic,
    _criteria: { extension: [{ url: `${BACKPORT}/backport-filter-criteria`, valueString: options.filter }] },
    channel: {
      ...(options.heartbeatSeconds
        ? {
            extension: [
              { url: `${BACKPORT}/backport-heartbeat-period`, valueUnsignedInt: options.heartbeatSeconds },
            ],
          }
        : {}),
      type: 'rest-hook',
      endpoint: options.endpoint,
      header: [...options.headers],
      payload: 'application/fhir+json',
      _payload: {
        extension: [{ url: `${BACKPORT}/backport-payload-content`, valueCode: options.content }],
      },
    },
  };
  const created = await fhirJson<Subscription>(`${fhirBaseUrl}/Subscription`, {
    method: 'POST',
    body: JSON.stringify(subscription),
  });
  const id = `Subscription/${created.id}`;
  await waitFor(
    async () => {
      const current = await fhirJson<Subscription>(`${fhirBaseUrl}/${id}`);
      if (current.status === 'error') throw new Error(`${id} is in error: ${current.error ?? ''}`);
      return current.status === 'active';
    },
    { what: `${id} to become active`, timeoutMs: options.timeoutMs ?? 60_000, intervalMs: 250 },
  );
  return id;
}

/** Sets a Subscription `off` (HAPI unregisters it: no more notifications or heartbeats). */
export async function stopSubscription(fhirBaseUrl: string, id: string): Promise<void> {
  const current = await fhirJson<Subscription>(`${fhirBaseUrl}/${id}`);
  await fhirJson<Subscription>(`${fhirBaseUrl}/${id}`, {
    method: 'PUT',
    body: JSON.stringify({ ...current, status: 'off' }),
  });
}

/** What one topic notification Bundle says (R4 backport: a `history` Bundle led by the status Parameters). */
export interface TopicNotification {
  subscription: string;
  type: string;
  eventsSinceStart: string | undefined;
  /** `notification-event.focus` references. */
  focus: string[];
  /** Entries after the status: full resources carry `resource`, id-only ones only `fullUrl`/`request`. */
  entries: { fullUrl?: string; method?: string; resourceType?: string; id?: string; versionId?: string }[];
}

/** Reads a topic notification Bundle as HAPI sends it; undefined for anything else. */
export function readTopicNotification(body: unknown): TopicNotification | undefined {
  const bundle = body as {
    resourceType?: string;
    type?: string;
    entry?: {
      fullUrl?: string;
      request?: { method?: string };
      resource?: {
        resourceType?: string;
        id?: string;
        meta?: { versionId?: string };
        parameter?: {
          name: string;
          valueCode?: string;
          valueString?: string;
          valueReference?: { reference?: string };
          part?: { name: string; valueReference?: { reference?: string } }[];
        }[];
      };
    }[];
  };
  if (bundle?.resourceType !== 'Bundle' || bundle.type !== 'history') return undefined;
  const status = bundle.entry?.[0]?.resource;
  if (status?.resourceType !== 'Parameters') return undefined;
  const param = (name: string) => status.parameter?.find((p) => p.name === name);
  return {
    subscription: param('subscription')?.valueReference?.reference ?? '',
    type: param('type')?.valueCode ?? '',
    eventsSinceStart: param('events-since-subscription-start')?.valueString,
    focus: (status.parameter ?? [])
      .filter((p) => p.name === 'notification-event')
      .flatMap(
        (p) => p.part?.filter((x) => x.name === 'focus').map((x) => x.valueReference?.reference ?? '') ?? [],
      ),
    entries: (bundle.entry ?? []).slice(1).map((e) => ({
      ...(e.fullUrl ? { fullUrl: e.fullUrl } : {}),
      ...(e.request?.method ? { method: e.request.method } : {}),
      ...(e.resource
        ? {
            resourceType: e.resource.resourceType,
            id: e.resource.id,
            ...(e.resource.meta?.versionId ? { versionId: e.resource.meta.versionId } : {}),
          }
        : {}),
    })),
  };
}
