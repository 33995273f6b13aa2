/**
 * The one error handler: whatever went wrong leaves as a FHIR OperationOutcome with the right
 * status. Client mistakes are 4xx and never 5xx; the log line carries the status and route only
 * (never the body, never a resource id).
 */
import fp from 'fastify-plugin';
import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import { parseJson } from '../ingest/parse.js';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { HttpError, errorMessage, operationOutcome, type IssueCode } from '../errors.js';

const FASTIFY_CODES: Record<string, [number, IssueCode, string]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'too-costly', 'request body is larger than the configured limit'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [
    415,
    'not-supported',
    'content type must be application/fhir+json or application/json',
  ],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'structure', 'content-length does not match the body'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'structure', 'empty JSON body'],
  FST_ERR_CTP_INVALID_JSON_BODY: [400, 'structure', 'body is not valid JSON'],
  FST_ERR_CTP_INVALID_TYPE: [415, 'not-supported', 'invalid content type'],
  FST_ERR_VALIDATION: [400, 'invalid', 'request does not match the API schema'],
};

/**
 * The one JSON body parser of the read API (ingest parses its raw bytes itself, after the HMAC):
 * the same rules as pushes (ingest/parse.ts parseJson: no BOM, no duplicate keys, no out-of-range
 * numbers or lone surrogates, depth ≤ 64; the path named in the 400) and no `__proto__` /
 * `constructor` keys.
 */
export function strictJsonParser(
  _request: FastifyRequest,
  body: Buffer | string,
  done: (error: Error | null, value?: unknown) => void,
): void {
  try {
    const raw = typeof body === 'string' ? Buffer.from(body) : body;
    const value = parseJson(raw, { refuseProtoKeys: true });
    if (value === undefined) {
      done(new HttpError(400, 'structure', 'empty JSON body'));
      return;
    }
    done(null, value);
  } catch (error) {
    done(error as Error);
  }
}

export const errorsPlugin = fp(async (app: FastifyInstance) => {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, strictJsonParser);
  app.setErrorHandler((error: FastifyError, request, reply) => {
    let status: number;
    let code: IssueCode;
    let message: string;
    if (error instanceof HttpError) {
      [status, code, message] = [error.statusCode, error.issueCode, error.message];
    } else if (hasZodFastifySchemaValidationErrors(error)) {
      [status, code, message] = [
        400,
        'invalid',
        `request does not match the API schema (${error.validation
          .map((v) => v.instancePath || 'body')
          .slice(0, 3)
          .join(', ')})`,
      ];
    } else if (error.code && FASTIFY_CODES[error.code]) {
      [status, code, message] = FASTIFY_CODES[error.code]!;
    } else if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
      // Other client errors Fastify detected (malformed request line pieces, aborted bodies…).
      [status, code, message] = [error.statusCode, 'invalid', 'request rejected'];
    } else if (error instanceof SyntaxError || error instanceof RangeError) {
      // Anything the input made blow up (deep recursion, odd JSON) is the input's fault.
      [status, code, message] = [400, 'structure', 'request could not be processed'];
    } else {
      [status, code, message] = [500, 'exception', 'internal error'];
    }
    if (status >= 500) {
      request.log.error(
        { status, route: request.routeOptions.url, err: { message: errorMessage(error), code: error.code } },
        'request failed',
      );
    } else {
      request.log.info({ status, route: request.routeOptions.url, issue: code }, 'request rejected');
    }
    app.metrics?.rejected.inc({ status: String(status) });
    const severity = status >= 500 ? 'fatal' : 'error';
    void reply
      .status(status)
      .header('content-type', 'application/fhir+json; charset=utf-8')
      .send(JSON.stringify(operationOutcome(severity, code, message)));
  });

  app.setNotFoundHandler((request, reply) => {
    app.metrics?.rejected.inc({ status: '404' });
    void reply
      .status(404)
      .header('content-type', 'application/fhir+json; charset=utf-8')
      .send(JSON.stringify(operationOutcome('error', 'not-found', `no such route for ${request.method}`)));
  });
});
