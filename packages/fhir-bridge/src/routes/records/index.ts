/**
 * The consent-checked records API: a patient's record list (by category, type, date, paged) and
 * one record with its leaf inputs, proof and anchor. Patients are named by subject, records by
 * outbox sequence number (no patient id in any URL).
 */
import { categoryOf, SCOPES } from '@ehr-anchor/contracts';
import { bytes32Schema } from '@ehr-anchor/core';
import {
  recordListQuerySchema,
  recordListSchema,
  recordProgressSchema,
  recordReadSchema,
  type RecordSummary,
} from '@ehr-anchor/core/api';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { notReadable, readErrorHandler, uniformly, type GuardSpec } from '../../read/context.js';
import { clinicalDate, GoneError, TamperError } from '../../read/records.js';
import type { RecordInfo } from '../../outbox/types.js';

/** Resource types the read side writes for its own bookkeeping; never part of a patient's record list. */
const HIDDEN = new Set(['AuditEvent', 'Consent', 'Provenance']);
const MAX_SCAN = 100_000;

export const subjectParams = z.object({ subject: bytes32Schema });
export const seqParams = z.object({ seq: z.coerce.number().int().positive() });

async function mapLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

function parseCursor(cursor: string | undefined): number {
  if (!cursor) return Number.MAX_SAFE_INTEGER;
  const n = Number(Buffer.from(cursor, 'base64url').toString('utf8'));
  return Number.isInteger(n) && n > 0 ? n : Number.MAX_SAFE_INTEGER;
}

export async function recordRoutes(root: FastifyInstance): Promise<void> {
  const app = root.withTypeProvider<ZodTypeProvider>();
  app.setErrorHandler(readErrorHandler);
  const { side, store } = root.read;

  app.get(
    '/patients/:subject/records',
    {
      schema: {
        tags: ['records'],
        summary: "A patient's records the caller may read (newest first, paged)",
        security: [{ session: [] }],
        params: subjectParams,
        querystring: recordListQuerySchema,
        response: { 200: recordListSchema },
      },
    },
    async (req) => {
      const subject = req.params.subject.toLowerCase();
      const q = req.query;
      let readable = 0;
      const spec: GuardSpec = {
        action: 'list',
        subject,
        check: async (actor) => {
          readable = await side.readableScope(actor, subject);
          if (q.category) readable &= SCOPES[q.category];
          if (q.type) readable &= side.scopeOf(q.type);
          return readable === 0 ? 'no valid grant covers these records' : null;
        },
      };
      return side.run(req, spec, async () => {
        const before = parseCursor(q.cursor);
        const since = q.since ? Date.parse(q.since) : -Infinity;
        const until = q.until ? Date.parse(q.until) : Infinity;
        const rows = await side.timed('store', () => side.deps.outbox.bySubject(subject, MAX_SCAN));
        const candidates: RecordInfo[] = [];
        const seen = new Set<string>();
        for (const r of rows) {
          if (HIDDEN.has(r.resourceType)) continue;
          const key = `${r.resourceType}/${r.resourceId}`;
          if (seen.has(key)) continue; // newest version only
          seen.add(key);
          if (r.seq >= before) continue;
          if ((readable & SCOPES[categoryOf(r.resourceType)]) === 0) continue;
          if (q.type && r.resourceType !== q.type) continue;
          if (r.receivedAt < since || r.receivedAt >= until) continue;
          candidates.push(r);
        }
        let dates = store.recordDates(candidates.map((c) => c.seq));
        let matching = candidates;
        if (q.from || q.to) {
          // Clinical dates live in the encrypted content: read each candidate once, then cache the date.
          const from = q.from ? Date.parse(q.from) : -Infinity;
          const to = q.to ? Date.parse(q.to) : Infinity;
          const missing = candidates.filter(
            (c) => !dates.has(c.seq) && c.state !== 'received' && !store.isErased(c.seq),
          );
          await mapLimit(missing, 8, async (c) => {
            try {
              store.setRecordDate(c.seq, clinicalDate((await side.records.read(c)).resource));
            } catch (error) {
              if (!(error instanceof TamperError)) throw error; // a tampered record has no trustworthy date
            }
          });
          dates = store.recordDates(candidates.map((c) => c.seq));
          matching = candidates.filter((c) => {
            const d = dates.get(c.seq);
            return d !== undefined && d !== null && d >= from && d < to;
          });
        }
        const page = matching.slice(0, q.limit);
        const next =
          matching.length > q.limit
            ? Buffer.from(String(page[page.length - 1]!.seq)).toString('base64url')
            : undefined;
        const erased = store.erasedSet(page.map((r) => r.seq));
        const items: RecordSummary[] = page.map((r) => {
          const date = dates.get(r.seq);
          return {
            seq: r.seq,
            resourceType: r.resourceType,
            resourceId: r.resourceId,
            versionId: r.versionId,
            category: categoryOf(r.resourceType),
            state: r.state,
            receivedAt: new Date(r.receivedAt).toISOString(),
            anchoredAt: r.anchoredAt === null ? null : new Date(r.anchoredAt).toISOString(),
            date: date === undefined || date === null ? null : new Date(date).toISOString(),
            erased: erased.has(r.seq),
          };
        });
        return { subject: subject as `0x${string}`, items, ...(next ? { next } : {}) };
      });
    },
  );

  app.get(
    '/records/:seq',
    {
      schema: {
        tags: ['records'],
        summary:
          'One record: decrypted resource, leaf inputs, Merkle proof and anchor (verify it in the browser)',
        security: [{ session: [] }],
        params: seqParams,
        response: { 200: recordReadSchema },
      },
    },
    async (req) => {
      // Authenticate before saying anything; then "no such record" and "not yours" look the same.
      const actor = await side.actor(req).catch(async (error: unknown) => {
        await side.audit({ action: 'read', actor: null, outcome: 'denied', reason: 'no session', req });
        throw error;
      });
      const info = await side.records.info(req.params.seq);
      if (!info) {
        await side.audit({ action: 'read', actor, outcome: 'denied', reason: 'no such record', req });
        throw notReadable();
      }
      const entity = {
        resourceType: info.resourceType,
        resourceId: info.resourceId,
        versionId: info.versionId,
        seq: info.seq,
      };
      // An AuditEvent's leaf carries its own pseudonym; it belongs to the patient it is about, who alone reads it.
      const audited = info.resourceType === 'AuditEvent' ? store.auditByEventSeq(info.seq) : undefined;
      const spec: GuardSpec = audited
        ? {
            action: 'read',
            subject: audited.subject,
            entity,
            check: async (actor) =>
              (await side.isPatientSelf(actor, audited.subject))
                ? null
                : 'only the patient reads their audit trail',
          }
        : { action: 'read', subject: info.subject, scope: side.scopeOf(info.resourceType), entity };
      return uniformly(() =>
        side.run(req, spec, async () => {
          if (store.isErased(info.seq)) throw new GoneError(info.leaf);
          const read = await side.records.read(info);
          store.setRecordDate(info.seq, clinicalDate(read.resource));
          return read;
        }),
      );
    },
  );

  app.get(
    '/records/:seq/state',
    {
      schema: {
        tags: ['records'],
        summary:
          "A version's pipeline state, envelope CID and anchor (no content; same consent check as reading it)",
        security: [{ session: [] }],
        params: seqParams,
        response: { 200: recordProgressSchema },
      },
    },
    async (req) => {
      const actor = await side.actor(req);
      const info = await side.records.info(req.params.seq);
      if (
        !info ||
        info.resourceType === 'AuditEvent' ||
        !(await side.chain.canRead(actor.address, info.subject, side.scopeOf(info.resourceType)))
      )
        throw notReadable();
      const { anchor } = await side.records.anchorOf(info);
      return {
        seq: info.seq,
        resourceType: info.resourceType,
        state: info.state,
        payloadCid: info.cid,
        anchor,
        erased: store.isErased(info.seq),
      };
    },
  );
}
