import { RECEIPT_SYSTEMS, operationOutcomeSchema, type ApiOperationOutcome } from '@ehr-anchor/core/api';
import { z } from 'zod';
import type { NotificationType } from '../../ingest/parse.js';
import type { Receipt } from '../../ingest/service.js';

/** The 202 body: one informational issue per version (queued or replay), warnings for missing ones. */
export function receiptOutcome(
  receipt: Receipt,
  notification?: { type: NotificationType },
): ApiOperationOutcome {
  const issue: ApiOperationOutcome['issue'] = receipt.accepted.map((a) => ({
    severity: 'information' as const,
    code: 'informational',
    diagnostics: a.duplicate ? 'already in the outbox (replay); anchored once' : 'queued for anchoring',
    location: [a.reference],
    details: {
      coding: [
        { system: RECEIPT_SYSTEMS.seq, code: String(a.seq) },
        { system: RECEIPT_SYSTEMS.contentHash, code: a.contentHash },
        { system: RECEIPT_SYSTEMS.disposition, code: a.duplicate ? 'duplicate' : 'queued' },
      ],
    },
  }));
  for (const m of receipt.missing) {
    issue.push({
      severity: 'warning',
      code: 'not-found',
      diagnostics: 'the source no longer has this resource',
      location: [m],
    });
  }
  if (receipt.pollStarted) {
    issue.push({
      severity: 'information',
      code: 'informational',
      diagnostics: 'content-less notification: pulling changes from the source',
    });
  }
  if (issue.length === 0) {
    issue.push({
      severity: 'information',
      code: 'informational',
      diagnostics: notification ? `${notification.type} acknowledged` : 'nothing to anchor',
    });
  }
  return { resourceType: 'OperationOutcome', issue };
}

/**
 * A topic notification's answer: a `batch-response` Bundle whose one entry carries the receipt as
 * `response.outcome`. Servers deliver notification Bundles as a FHIR transaction/batch interaction
 * (HAPI FHIR: `client.transaction()`), and the answer to that is a Bundle — HAPI's client refuses
 * an OperationOutcome and redelivers the notification for 60 s.
 */
export const notificationReceiptSchema = z.object({
  resourceType: z.literal('Bundle'),
  type: z.literal('batch-response'),
  entry: z
    .array(z.object({ response: z.object({ status: z.string(), outcome: operationOutcomeSchema }) }))
    .length(1),
});
export type NotificationReceipt = z.infer<typeof notificationReceiptSchema>;

export function notificationReceipt(status: 200 | 202, outcome: ApiOperationOutcome): NotificationReceipt {
  return {
    resourceType: 'Bundle',
    type: 'batch-response',
    entry: [{ response: { status: status === 202 ? '202 Accepted' : '200 OK', outcome } }],
  };
}
