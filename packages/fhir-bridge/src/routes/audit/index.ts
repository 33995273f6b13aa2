/** The patient's access log: who read, searched, downloaded or was refused (from the AuditEvents), newest first, paged by cursor. */
import { auditCursorSchema, auditListSchema } from '@ehr-anchor/core/api';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { readErrorHandler, type GuardSpec } from '../../read/context.js';
import { subjectParams } from '../records/index.js';

export async function auditRoutes(root: FastifyInstance): Promise<void> {
  const app = root.withTypeProvider<ZodTypeProvider>();
  app.setErrorHandler(readErrorHandler);
  const { side, store } = root.read;

  app.get(
    '/patients/:subject/access-log',
    {
      schema: {
        tags: ['audit'],
        summary: "Who accessed (or tried to access) this patient's records — only the patient may list it",
        security: [{ session: [] }],
        params: subjectParams,
        querystring: z.object({
          limit: z.coerce.number().int().min(1).max(1000).default(200),
          /** The `next` cursor of the previous page: lists the entries older than it. */
          before: auditCursorSchema.optional(),
        }),
        response: { 200: auditListSchema },
      },
    },
    async (req) => {
      const subject = req.params.subject.toLowerCase();
      const spec: GuardSpec = {
        action: 'access-log',
        subject,
        check: async (actor) =>
          (await side.isPatientSelf(actor, subject)) ? null : 'only the patient may list their access log',
      };
      return side.run(req, spec, async () => {
        const page = store.auditPage(subject, req.query.limit, req.query.before);
        return {
          items: page.rows.map((r) => ({
            id: r.id,
            recorded: new Date(r.recorded).toISOString(),
            actor: r.actor as `0x${string}` | null,
            role: r.role,
            action: r.action as 'read',
            outcome: r.outcome,
            entity: r.entity,
            auditSeq: r.auditSeq,
          })),
          ...(page.next ? { next: page.next } : {}),
        };
      });
    },
  );
}
