/**
 * Talks to a source FHIR server with fhir-kit-client: reads for empty and id-only notifications,
 * paged search/history for `sync` and for content-less notifications, Provenance write-back.
 */
import { Client } from 'fhir-kit-client';
import type { FhirResourceLike } from '@ehr-anchor/core';
import type { SourceConfig } from '../config.js';
import { HttpError } from '../errors.js';

export type ReadResult =
  { status: 'ok'; resource: FhirResourceLike } | { status: 'gone' } | { status: 'not-found' };

function statusOf(error: unknown): number | undefined {
  const status = (error as { response?: { status?: unknown } })?.response?.status;
  return typeof status === 'number' ? status : undefined;
}

export class SourceClient {
  readonly client: Client;

  constructor(readonly source: SourceConfig) {
    if (!source.fhirBaseUrl)
      throw new HttpError(422, 'not-supported', `source ${source.id} has no fhirBaseUrl to read from`);
    this.client = new Client({
      baseUrl: source.fhirBaseUrl,
      customHeaders: { accept: 'application/fhir+json', ...source.fhirHeaders },
    });
  }

  /**
   * Current version, or a given version, of a resource. 410 → gone (deleted); any other 4xx
   * (404, or a server refusing the id) → not found: the sender's notification named something the
   * source does not have, which is not worth a retry. Only no answer or a 5xx is transient (503).
   * Type and ids were checked by the caller (R4 type, FHIR ids); the path segments are encoded anyway.
   */
  async read(resourceType: string, id: string, versionId?: string): Promise<ReadResult> {
    try {
      const type = encodeURIComponent(resourceType);
      const resource = (versionId
        ? await this.client.vread({
            resourceType: type,
            id: encodeURIComponent(id),
            version: encodeURIComponent(versionId),
          })
        : await this.client.read({
            resourceType: type,
            id: encodeURIComponent(id),
          })) as unknown as FhirResourceLike;
      return { status: 'ok', resource };
    } catch (error) {
      const status = statusOf(error);
      if (status === 410) return { status: 'gone' };
      if (status !== undefined && status >= 400 && status < 500) return { status: 'not-found' };
      throw new HttpError(
        503,
        'transient',
        `source ${this.source.id} did not answer the read (${status ?? 'unreachable'})`,
      );
    }
  }

  /** First page of a search or history; `next` follows `Bundle.link[next]`. */
  async firstPage(query: {
    types?: string[];
    type?: string;
    since?: string;
    pageSize: number;
  }): Promise<Bundle> {
    const since = query.since;
    if (query.type) {
      const searchParams: Record<string, string | number> = { _count: query.pageSize, _sort: '_lastUpdated' };
      if (since) searchParams._lastUpdated = `ge${since}`;
      return (await this.client.search({ resourceType: query.type, searchParams })) as unknown as Bundle;
    }
    const params = new URLSearchParams({ _count: String(query.pageSize) });
    if (since) params.set('_since', since);
    return (await this.client.request(`_history?${params.toString()}`)) as unknown as Bundle;
  }

  async nextPage(bundle: Bundle): Promise<Bundle | undefined> {
    if (!bundle.link?.some((l) => l.relation === 'next')) return undefined;
    const next = this.client.nextPage({ bundle: bundle as never });
    return next ? ((await next) as unknown as Bundle) : undefined;
  }

  async create(resource: FhirResourceLike): Promise<FhirResourceLike> {
    return (await this.client.create({
      resourceType: resource.resourceType,
      body: resource as never,
    })) as unknown as FhirResourceLike;
  }
}

export interface Bundle {
  resourceType: 'Bundle';
  type?: string;
  link?: { relation: string; url: string }[];
  entry?: {
    fullUrl?: string;
    resource?: unknown;
    request?: { method?: string; url?: string };
    response?: { etag?: string };
  }[];
}
