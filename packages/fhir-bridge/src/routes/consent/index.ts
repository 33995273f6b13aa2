/** The consent mirror, readable by the patient: FHIR R4 Consent resources built from chain events. */
import { consentBundleSchema } from '@ehr-anchor/core/api';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { currentView } from '../../read/consent-mirror.js';
import { readErrorHandler, type GuardSpec } from '../../read/context.js';
import { subjectParams } from '../records/index.js';

export async function consentRoutes(root: FastifyInstance): Promise<void> {
  const app = root.withTypeProvider<ZodTypeProvider>();
  app.setErrorHandler(readErrorHandler);
  const { side, store, mirror } = root.read;

  app.get(
    '/patients/:subject/consents',
    {
      schema: {
        tags: ['consent'],
        summary: "The patient's grants as FHIR Consent resources (revoked or expired → inactive)",
        security: [{ session: [] }],
        params: subjectParams,
        response: { 200: consentBundleSchema },
      },
    },
    async (req) => {
      const subject = req.params.subject.toLowerCase();
      const spec: GuardSpec = {
        action: 'consent',
        subject,
        check: async (actor) =>
          (await side.isPatientSelf(actor, subject)) ? null : 'only the patient may list their consents',
      };
      return side.run(req, spec, async (actor) => {
        await mirror.sync();
        const now = await side.chain.now();
        const consents = store.consentsOf(actor.address).map((row) => currentView(row, now));
        return {
          resourceType: 'Bundle' as const,
          type: 'searchset' as const,
          total: consents.length,
          entry: consents.map((resource) => ({ resource: resource as unknown as { resourceType: string } })),
        };
      });
    },
  );
}
