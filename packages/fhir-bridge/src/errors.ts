/**
 * Every error leaves the bridge as a FHIR OperationOutcome, built here and sent by the one error
 * handler in plugins/errors.ts. Diagnostics never quote request content (it may hold PHI).
 */
import type { OperationOutcome } from 'fhir/r4';

/** FHIR `IssueType` codes the bridge uses. */
export type IssueCode =
  | 'invalid'
  | 'structure'
  | 'required'
  | 'value'
  | 'security'
  | 'login'
  | 'not-supported'
  | 'too-costly'
  | 'not-found'
  | 'conflict'
  | 'throttled'
  | 'exception'
  | 'transient'
  | 'processing'
  /** Edit on a version that is no longer current (If-Match, HTTP 412). */
  | 'conflict'
  | 'informational';

/** An error with an HTTP status and a FHIR issue code; the message is safe to return to the caller. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly issueCode: IssueCode,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const badRequest = (message: string) => new HttpError(400, 'structure', message);
export const unauthorized = (message = 'missing or wrong credentials') =>
  new HttpError(401, 'login', message);
export const notFound = (message: string) => new HttpError(404, 'not-found', message);
export const unsupported = (message: string) => new HttpError(422, 'not-supported', message);
export const unavailable = (message: string) => new HttpError(503, 'transient', message);

export function operationOutcome(
  severity: 'fatal' | 'error' | 'warning' | 'information',
  code: IssueCode,
  diagnostics: string,
): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [{ severity, code, diagnostics }] };
}

/** An error's message for logs: URLs (which may name a patient's resource) are cut out. */
export function errorMessage(error: unknown): string {
  const e = error as { shortMessage?: string; message?: string; code?: string };
  return String(e?.shortMessage ?? e?.message ?? error)
    .replace(/https?:\/\/\S+/g, '<url>')
    .slice(0, 300);
}
