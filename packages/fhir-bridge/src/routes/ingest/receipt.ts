import { RECEIPT_SYSTEMS, type ApiOperationOutcome } from '@ehr-anchor/core/api';
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
