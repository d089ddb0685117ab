/**
 * The one place errors become HTTP answers (STYLE.md §4). Every failure leaves
 * as `{ error: { code, message, details? } }`; stacks and unknown errors' messages
 * stay in the logs.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isComputalotError } from '../shared/errors.js';
import type { ErrorBody } from './schemas/error.schema.js';

/** An error answer before it is sent. */
export interface HttpErrorAnswer {
  readonly status: number;
  readonly body: ErrorBody;
}

/** Stable codes for Fastify's own 4xx errors (bad JSON, wrong content type…). */
const CODE_BY_STATUS: Readonly<Record<number, string>> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  408: 'request_timeout',
  409: 'conflict',
  413: 'payload_too_large',
  414: 'uri_too_long',
  415: 'unsupported_media_type',
  422: 'validation_failed',
  429: 'rate_limited',
};

function errorBody(code: string, message: string, details?: Readonly<Record<string, unknown>>): ErrorBody {
  return { error: details === undefined ? { code, message } : { code, message, details: { ...details } } };
}

/** Unknown failures: the message could hold anything (paths, SQL, tokens), so it stays in the logs. */
const INTERNAL: HttpErrorAnswer = { status: 500, body: errorBody('internal', 'internal error') };

/** Maps any thrown value to its status and body. Pure: logging is the caller's job. */
export function toHttpError(error: unknown): HttpErrorAnswer {
  if (isComputalotError(error)) {
    return { status: error.httpStatus, body: errorBody(error.code, error.message, error.details) };
  }
  if (!(error instanceof Error)) return INTERNAL;
  const { validation, validationContext, statusCode, code } = error as FastifyErrorFields;
  // Schema validation (zod through the type provider, or plain JSON Schema): 422, like every other invalid input.
  if (validation !== undefined && validation.length > 0) {
    const location = validationContext ?? 'input';
    const issues = validation.map((issue) => ({ path: issue.instancePath, message: issue.message ?? 'invalid' }));
    return { status: 422, body: errorBody('validation_failed', `invalid request ${location}`, { location, issues }) };
  }
  // Fastify and its plugins mark client errors with a 4xx `statusCode`; their messages are safe to show.
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    return {
      status: statusCode,
      body: errorBody(CODE_BY_STATUS[statusCode] ?? `http_${statusCode}`, error.message, typeof code === 'string' ? { reason: code } : undefined),
    };
  }
  return INTERNAL;
}

/** The fields Fastify puts on the errors it raises; all optional, since any Error may arrive. */
interface FastifyErrorFields {
  readonly validation?: readonly { readonly instancePath: string; readonly message?: string }[];
  readonly validationContext?: string;
  readonly statusCode?: unknown;
  readonly code?: unknown;
}

/** Fastify error handler: logs 5xx with the error, 4xx briefly, answers with {@link toHttpError}. */
export function handleGatewayError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const answer = toHttpError(error);
  if (answer.status >= 500) request.log.error({ err: error, code: answer.body.error.code }, 'request failed');
  else request.log.info({ code: answer.body.error.code, status: answer.status }, 'request rejected');
  return reply.code(answer.status).send(answer.body);
}

/** 404 for unknown routes, in the same body shape. */
export function handleUnknownRoute(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return reply.code(404).send(errorBody('not_found', `no route for ${request.method} ${request.url.split('?')[0] ?? request.url}`));
}
