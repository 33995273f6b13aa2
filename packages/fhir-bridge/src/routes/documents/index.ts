/**
 * Documents: streaming multipart upload (fields subject, title, date, category — before the file
 * part — then the file) → encrypted content on IPFS + a DocumentReference anchored like any
 * record; and download of the decrypted content with the stored content type and defensive headers.
 */
import multipart from '@fastify/multipart';
import { SCOPES } from '@ehr-anchor/contracts';
import { documentReceiptSchema, documentUploadFieldsSchema } from '@ehr-anchor/core/api';
import type { FastifyInstance } from 'fastify';
import type { DocumentReference } from 'fhir/r4';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { HttpError, badRequest } from '../../errors.js';
import { didPkh } from '../../read/consent-mirror.js';
import { notReadable, readErrorHandler, uniformly, type GuardSpec } from '../../read/context.js';
import {
  bufferIfSmall,
  documentHash,
  documentReference,
  openContent,
  SAFE_INLINE,
  sanitizeContentType,
  storeContent,
} from '../../read/documents.js';
import { removeFromIpfs } from '../../read/erasure.js';
import { GoneError } from '../../read/records.js';
import { seqParams } from '../records/index.js';

/** Below this size a download is decrypted and checked in full first, so tampering gets a clean 409. */
const VERIFY_FIRST_BYTES = 8 * 1024 * 1024;

export async function documentRoutes(root: FastifyInstance): Promise<void> {
  const app = root.withTypeProvider<ZodTypeProvider>();
  app.setErrorHandler(readErrorHandler);
  const { side, store } = root.read;
  await app.register(multipart, {
    limits: { fileSize: side.uploadLimit, files: 1, fields: 8, fieldSize: 1024, parts: 9 },
    throwFileSizeLimit: true,
  });

  app.post(
    '/documents',
    {
      schema: {
        tags: ['documents'],
        summary:
          'Upload a document (multipart: subject, title, date, category, then file); stored encrypted on IPFS and anchored',
        security: [{ session: [] }],
        consumes: ['multipart/form-data'],
        response: { 201: documentReceiptSchema },
      },
    },
    async (req, reply) => {
      if (!req.isMultipart()) throw new HttpError(415, 'not-supported', 'send multipart/form-data');
      const fields: Record<string, string> = {};
      for await (const part of req.parts()) {
        if (part.type === 'field') {
          fields[part.fieldname] = String(part.value);
          continue;
        }
        const parsed = documentUploadFieldsSchema.safeParse(fields);
        if (!parsed.success) {
          part.file.resume();
          throw badRequest(
            `send the fields subject, title, date and category before the file (${parsed.error.issues.map((i) => i.path.join('.')).join(', ')})`,
          );
        }
        const f = parsed.data;
        const subject = f.subject.toLowerCase();
        const spec: GuardSpec = { action: 'upload', subject, scope: SCOPES.documents };
        const receipt = await side
          .run(req, spec, async (actor) => {
            const content = await storeContent(side.deps, part.file);
            if (part.file.truncated) {
              await removeFromIpfs(side.deps.ipfs, [content.cid]).catch(() => undefined);
              store.deleteDocKey(content.docId);
              throw new HttpError(
                413,
                'too-costly',
                `the file is larger than the upload limit (${side.uploadLimit} bytes)`,
              );
            }
            const patientSeq = store.latestPatientSeq(subject);
            const patientInfo =
              patientSeq === undefined ? undefined : (await side.deps.outbox.bySeq([patientSeq]))[0];
            const doc = documentReference({
              content,
              contentType: sanitizeContentType(part.mimetype),
              title: f.title,
              date: f.date,
              category: f.category,
              patientRef: patientInfo
                ? { reference: `Patient/${patientInfo.resourceId}` }
                : { identifier: { system: 'urn:ehr-anchor:subject', value: subject } },
              author: didPkh(await side.deps.chainId(), actor.address),
            });
            const hash = await documentHash(doc);
            const [result] = await side.deps.outbox.enqueue([
              {
                source: side.source,
                resourceType: 'DocumentReference',
                resourceId: doc.id!,
                versionId: '1',
                contentHash: hash,
                subject,
                deleted: false,
                body: new TextEncoder().encode(JSON.stringify(doc)),
              },
            ]);
            side.deps.onQueued?.();
            spec.entity = {
              resourceType: 'DocumentReference',
              resourceId: doc.id!,
              versionId: '1',
              seq: result!.seq,
            };
            return {
              seq: result!.seq,
              resourceType: 'DocumentReference',
              resourceId: doc.id!,
              versionId: '1',
              contentHash: hash,
              state: 'received' as const,
              contentCid: content.cid,
              size: content.size,
              contentType: doc.content[0]!.attachment.contentType!,
              sha1: content.sha1,
            };
          })
          .catch((error: unknown) => {
            part.file.resume();
            throw error;
          });
        return reply.code(201).send(receipt);
      }
      throw badRequest('no file part');
    },
  );

  app.get(
    '/documents/:seq/content',
    {
      schema: {
        tags: ['documents'],
        summary:
          'The decrypted content of a DocumentReference (streamed; attachment unless a safe inline type)',
        security: [{ session: [] }],
        params: seqParams,
      },
    },
    async (req, reply) => {
      const actor = await side.actor(req).catch(async (error: unknown) => {
        await side.audit({ action: 'download', actor: null, outcome: 'denied', reason: 'no session', req });
        throw error;
      });
      const info = await side.records.info(req.params.seq);
      if (!info || info.resourceType !== 'DocumentReference') {
        await side.audit({ action: 'download', actor, outcome: 'denied', reason: 'no such document', req });
        throw notReadable();
      }
      const spec: GuardSpec = {
        action: 'download',
        subject: info.subject,
        scope: SCOPES.documents,
        entity: {
          resourceType: info.resourceType,
          resourceId: info.resourceId,
          versionId: info.versionId,
          seq: info.seq,
        },
      };
      const { opened, body } = await uniformly(() =>
        side.run(req, spec, async () => {
          if (store.isErased(info.seq)) throw new GoneError(info.leaf);
          const read = await side.records.read(info);
          const opened = await openContent(side.deps, read.resource as unknown as DocumentReference);
          return { opened, body: await bufferIfSmall(opened, VERIFY_FIRST_BYTES) };
        }),
      );
      const inline = SAFE_INLINE.has(opened.contentType);
      const filename = `document-${info.seq}`;
      void reply
        .header('content-type', opened.contentType)
        .header('content-length', String(opened.size))
        .header('content-disposition', `${inline ? 'inline' : 'attachment'}; filename="${filename}"`)
        .header('x-content-type-options', 'nosniff')
        .header('content-security-policy', 'sandbox')
        .header('cache-control', 'private, no-store');
      return reply.send(body);
    },
  );
}
