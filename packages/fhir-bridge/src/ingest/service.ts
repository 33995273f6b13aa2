/**
 * Ingest: resolves parsed push items into versions (reading from the source where a notification
 * carries no content), commits them all to the outbox in one transaction, and only then returns a
 * receipt — the route answers 202 with it. Nothing is written when anything fails.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { SourceConfig } from '../config.js';
import { HttpError } from '../errors.js';
import type { KeyStore } from '../keys/keystore.js';
import type { Outbox, IncomingVersion } from '../outbox/types.js';
import type { BridgeMetrics } from '../metrics.js';
import { parseBundle, type IngestItem } from './parse.js';
import { NO_SUBJECT, prepareDelete, prepareResource, prepareResourceSync } from './prepare.js';
import { SourceClient, type Bundle } from './source-client.js';

/**
 * Types a pull (sync, content-less notification) leaves alone: subscription plumbing (a
 * Subscription holds the bridge's own secret in channel.header) and what the bridges write back
 * to the server themselves (anchoring those would echo every write).
 */
export const PULL_SKIP_TYPES = new Set([
  'Subscription',
  'SubscriptionTopic',
  'SubscriptionStatus',
  'OperationOutcome',
  'Provenance',
  'AuditEvent',
  'Consent',
]);

export interface ReceiptEntry {
  reference: string;
  seq: number;
  contentHash: string;
  duplicate: boolean;
}

export interface Receipt {
  accepted: ReceiptEntry[];
  /** References a notification named that the source no longer has. */
  missing: string[];
  /** True when a content-less notification started a pull from the source. */
  pollStarted: boolean;
}

export interface IngestDeps {
  outbox: Outbox;
  keyStore: KeyStore;
  metrics: BridgeMetrics;
  log: FastifyBaseLogger;
  /** Wakes the pipeline after a commit. */
  onQueued: () => void;
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

export class Ingestor {
  readonly #clients = new Map<string, SourceClient>();
  readonly #polls = new Map<string, { running: Promise<void>; again: boolean }>();

  constructor(readonly deps: IngestDeps) {}

  client(source: SourceConfig): SourceClient {
    let c = this.#clients.get(source.id);
    if (!c) {
      c = new SourceClient(source);
      this.#clients.set(source.id, c);
    }
    return c;
  }

  async #subjectOf(resourceType: string, resourceId: string): Promise<string> {
    const [newest] = await this.deps.outbox.versions(resourceType, resourceId);
    return newest?.subject ?? NO_SUBJECT;
  }

  /** Resolves items (reads for fetch items) into versions; `poll` items are returned separately. */
  async resolve(
    source: SourceConfig,
    items: IngestItem[],
  ): Promise<{ versions: IncomingVersion[]; missing: string[]; polls: IngestItem[] }> {
    const key = this.deps.keyStore.pseudonymKey();
    const missing: string[] = [];
    const polls = items.filter((i) => i.kind === 'poll');
    // A content-less notification is only useful if we can read from the source: refuse it up front.
    if (polls.length) this.client(source);
    // Items with content resolve synchronously; only reads from the source need the concurrency limit.
    if (items.every((i) => i.kind === 'resource')) {
      const versions = items.map((item) =>
        item.kind === 'resource'
          ? prepareResourceSync(source.id, item.resource, key, item.versionHint)
          : undefined!,
      );
      return { versions, missing, polls };
    }
    const resolved = await mapLimit(items, 8, async (item): Promise<IncomingVersion | undefined> => {
      switch (item.kind) {
        case 'resource':
          return prepareResource(source.id, item.resource, key, item.versionHint);
        case 'delete':
          if (item.confirm) {
            // The credential does not say which resource: the source must confirm it is gone.
            const ref = `${item.resourceType}/${item.resourceId}`;
            if (!source.fhirBaseUrl)
              throw new HttpError(
                422,
                'not-supported',
                `source ${source.id} signs only the body, which cannot say which resource was deleted; the bridge records such a delete only after reading it from the source (configure fhirBaseUrl), or when the request is signed with X-Ehr-Signature or a bearer secret`,
              );
            const read = await this.client(source).read(item.resourceType, item.resourceId);
            if (read.status === 'ok')
              throw new HttpError(
                409,
                'conflict',
                `the source still has ${ref}: delete not recorded (the source did not confirm it)`,
              );
            // 410: the source says it was deleted. 404: only for a resource the bridge has seen
            // (a tombstone for something that never existed is noise an attacker could make).
            if (
              read.status === 'not-found' &&
              (await this.deps.outbox.versions(item.resourceType, item.resourceId)).length === 0
            )
              throw new HttpError(
                404,
                'not-found',
                `neither the source nor the bridge knows ${ref}: nothing to delete`,
              );
          }
          return prepareDelete(
            source.id,
            item.resourceType,
            item.resourceId,
            await this.#subjectOf(item.resourceType, item.resourceId),
            item.versionId,
          );
        case 'fetch': {
          const read = await this.client(source).read(item.resourceType, item.resourceId, item.versionId);
          if (read.status === 'ok') {
            if (read.resource.resourceType !== item.resourceType || read.resource.id !== item.resourceId) {
              missing.push(`${item.resourceType}/${item.resourceId}`);
              return undefined;
            }
            return prepareResource(source.id, read.resource, key, item.versionId);
          }
          if (read.status === 'gone') {
            return prepareDelete(
              source.id,
              item.resourceType,
              item.resourceId,
              await this.#subjectOf(item.resourceType, item.resourceId),
            );
          }
          missing.push(`${item.resourceType}/${item.resourceId}`);
          return undefined;
        }
        case 'poll':
          return undefined;
      }
    });
    return { versions: resolved.filter((v): v is IncomingVersion => v !== undefined), missing, polls };
  }

  /** Commits versions to the outbox (one transaction) and counts them. */
  async commit(source: SourceConfig, versions: IncomingVersion[]): Promise<ReceiptEntry[]> {
    if (versions.length === 0) return [];
    const results = await this.deps.outbox.enqueue(versions);
    let fresh = 0;
    const byType = new Map<string, number>();
    const accepted = versions.map((v, i) => {
      const r = results[i]!;
      if (!r.duplicate) {
        fresh++;
        byType.set(v.resourceType, (byType.get(v.resourceType) ?? 0) + 1);
      }
      return {
        reference: `${v.resourceType}/${v.resourceId}/_history/${v.versionId}`,
        seq: r.seq,
        contentHash: v.contentHash,
        duplicate: r.duplicate,
      };
    });
    for (const [type, n] of byType) this.deps.metrics.received.inc({ source: source.id, type }, n);
    if (versions.length > fresh)
      this.deps.metrics.duplicates.inc({ source: source.id }, versions.length - fresh);
    if (fresh > 0) this.deps.onQueued();
    return accepted;
  }

  async ingest(source: SourceConfig, items: IngestItem[]): Promise<Receipt> {
    const { versions, missing, polls } = await this.resolve(source, items);
    const accepted = await this.commit(source, versions);
    for (const p of polls) this.startPoll(source, p.kind === 'poll' ? p.types : undefined);
    this.deps.log.info(
      {
        source: source.id,
        versions: versions.length,
        new: accepted.filter((a) => !a.duplicate).length,
        missing: missing.length,
        polls: polls.length,
      },
      'ingested',
    );
    return { accepted, missing, pollStarted: polls.length > 0 };
  }

  /**
   * A content-less notification: pull what changed since the last pull (system `_history`, or
   * per-type searches when the source lists types). One pull per source at a time; a
   * notification during a pull schedules one more.
   */
  startPoll(source: SourceConfig, types?: string[]): void {
    const running = this.#polls.get(source.id);
    if (running) {
      running.again = true;
      return;
    }
    const state = { again: false, running: Promise.resolve() };
    state.running = (async () => {
      do {
        state.again = false;
        try {
          await this.pollOnce(source, types);
        } catch (error) {
          this.deps.log.warn(
            { source: source.id, err: { message: (error as Error).message } },
            'pull after notification failed',
          );
        }
      } while (state.again);
      this.#polls.delete(source.id);
    })();
    this.#polls.set(source.id, state);
  }

  /** Resolves when no poll is running (tests). */
  async pollsSettled(): Promise<void> {
    while (this.#polls.size) await Promise.all([...this.#polls.values()].map((p) => p.running));
  }

  async pollOnce(source: SourceConfig, types?: string[]): Promise<number> {
    const key = `poll:${source.id}`;
    const watermark = await this.deps.outbox.getState(key);
    // Pull from a little before the watermark: servers stamp lastUpdated before commit.
    const since = watermark ? new Date(Date.parse(watermark) - 5_000).toISOString() : undefined;
    const started = new Date().toISOString();
    const wanted = types?.length ? types : source.types.length ? source.types : undefined;
    let total = 0;
    for (const type of wanted ?? [undefined]) {
      total += await this.pull(source, { type, since, pageSize: 200 });
    }
    await this.deps.outbox.setState(key, started);
    return total;
  }

  /**
   * Pages through a search (one type) or the system history, committing each page before asking
   * for the next; `position` (if given) persists the next-page URL so an interrupted sync resumes.
   */
  async pull(
    source: SourceConfig,
    query: { type?: string; since?: string; pageSize: number },
    position?: { key: string; onPage?: (info: { pages: number; versions: number; fresh: number }) => void },
  ): Promise<number> {
    const client = this.client(source);
    let page: Bundle | undefined;
    const saved = position ? await this.deps.outbox.getState(position.key) : undefined;
    const resume = saved
      ? (JSON.parse(saved) as { next?: string; done?: boolean; pages: number; versions: number })
      : undefined;
    let pages = resume?.pages ?? 0;
    let versions = resume?.versions ?? 0;
    if (resume?.done) return 0;
    page = resume?.next
      ? await client.nextPage({ resourceType: 'Bundle', link: [{ relation: 'next', url: resume.next }] })
      : await client.firstPage({ type: query.type, since: query.since, pageSize: query.pageSize });
    let fresh = 0;
    while (page) {
      const items = parseBundle({
        ...page,
        type: page.type === 'searchset' ? 'searchset' : 'history',
      } as never).items.filter(
        (i) =>
          i.kind !== 'poll' &&
          !(i.kind === 'resource' && PULL_SKIP_TYPES.has(i.resource.resourceType)) &&
          !((i.kind === 'delete' || i.kind === 'fetch') && PULL_SKIP_TYPES.has(i.resourceType)),
      );
      const { versions: resolved } = await this.resolve(source, items);
      const accepted = await this.commit(source, resolved);
      fresh += accepted.filter((a) => !a.duplicate).length;
      pages++;
      versions += resolved.length;
      const next = page.link?.find((l) => l.relation === 'next')?.url;
      if (position) {
        await this.deps.outbox.setState(position.key, JSON.stringify({ next, done: !next, pages, versions }));
        position.onPage?.({ pages, versions, fresh });
      }
      page = next ? await client.nextPage(page) : undefined;
    }
    return fresh;
  }
}
