import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { SlipwayError, toSlipwayError } from '../core/errors.js';
import { HTTP_STATUS } from './http-status.js';

/** Fastify's own error codes that mean "the client sent something wrong". */
const FASTIFY_CODES: Record<string, SlipwayError['code']> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_request',
};

/** Converts whatever was thrown into the one wire format, once, at the HTTP boundary. */
export function toWireError(err: unknown): SlipwayError {
  if (err instanceof SlipwayError) return err;
  if (hasZodFastifySchemaValidationErrors(err)) {
    const first = err.validation[0];
    const path = (first?.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.');
    const where = err.validationContext === 'body' ? path : [err.validationContext, path].filter(Boolean).join('.');
    return new SlipwayError('invalid_request', `${where || 'request'}: ${first?.message ?? 'invalid'}`, {
      details: { field: where || null, issues: err.validation.map((v) => ({ path: v.instancePath, message: v.message })) },
      cause: err,
    });
  }
  const fe = err as FastifyError;
  if (fe.code && FASTIFY_CODES[fe.code]) return new SlipwayError(FASTIFY_CODES[fe.code]!, fe.message, { cause: err });
  if (err instanceof SyntaxError || fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return new SlipwayError('invalid_json', `the body is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  return toSlipwayError(err);
}

/** Fastify error handler: `{ error: { code, message, details, request_id } }` with the code's status. */
export function handleError(err: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const e = toWireError(err);
  const status = HTTP_STATUS[e.code];
  if (status >= 500) request.log.error({ err }, 'request failed');
  // An internal error's message may name paths or queries; users get the request id instead.
  const message = status >= 500 && e.code === 'internal_error' ? 'internal error; the request_id finds it in the server log' : e.message;
  void reply.status(status).send({ error: { code: e.code, message, details: status >= 500 ? {} : e.details, request_id: request.id } });
}
