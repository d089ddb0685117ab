/**
 * Authentication for every route that does not declare itself public.
 *
 * A route opts out with `config: { public: true }`; everything else —
 * including routes other modules register later — requires
 * `Authorization: Bearer <token>` with an `flk_…` API key or an `fls_…`
 * wallet session, and gets `request.principal`. Keeping the flag on the route
 * (not a path list here) means the list of anonymous endpoints cannot drift
 * from the routes themselves.
 */
import type { FastifyReply } from 'fastify';
import type { CredentialService, TokenRejection } from '../../accounts/index.js';
import { isComputalotError, UnauthorizedError, UnavailableError } from '../../shared/errors.js';
import type { GatewayInstance } from '../gateway-types.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Anyone may call the route; no token is read and `request.principal` stays unset. Default false. */
    public?: boolean;
  }
}

/** What authentication needs from the credential layer. */
export type TokenResolver = Pick<CredentialService, 'resolveToken'>;

/** Stable `error.details.reason` values of a 401, for clients that branch on them. */
export type UnauthorizedReason = 'missing_token' | 'malformed_header' | 'malformed_token' | 'unknown_token' | 'revoked' | 'expired';

const TOKEN_HINT = 'send Authorization: Bearer <token> with an admin-issued API key (flk_…) or a wallet session (fls_…)';

const MESSAGES: Readonly<Record<UnauthorizedReason, string>> = {
  missing_token: `authentication required: ${TOKEN_HINT}`,
  malformed_header: `malformed Authorization header: ${TOKEN_HINT}`,
  malformed_token: 'malformed token: expected an API key (flk_…) or a wallet session (fls_…)',
  unknown_token: 'invalid token',
  revoked: 'this API key has been revoked; ask an admin for a new one',
  expired: 'wallet session expired; sign in again with POST /api/v1/auth/wallet/challenge',
};

const REASON_OF_REJECTION: Readonly<Record<TokenRejection, UnauthorizedReason>> = {
  malformed: 'malformed_token',
  unknown: 'unknown_token',
  revoked: 'revoked',
  expired: 'expired',
};

/** `Bearer` is case-insensitive (RFC 7235); one token, no surrounding noise. */
const BEARER = /^Bearer +(\S+) *$/i;

/**
 * Adds the root `onRequest` hook. Call it before any route is registered, on
 * the root instance, so every encapsulated route module inherits it.
 */
export function installAuthentication(app: GatewayInstance, resolver: TokenResolver): void {
  app.addHook('onRequest', async (request, reply) => {
    // Unknown routes answer 404 whoever asks; a 401 there would only hide the typo.
    if (request.is404 || request.routeOptions.config.public === true) return;
    const header = request.headers.authorization;
    if (header === undefined || header.trim() === '') rejectRequest(reply, 'missing_token');
    const token = BEARER.exec(header)?.[1];
    if (token === undefined) rejectRequest(reply, 'malformed_header');

    const resolution = await resolveOrUnavailable(resolver, token);
    if (!resolution.ok) rejectRequest(reply, REASON_OF_REJECTION[resolution.reason]);
    const { accountId, role, credentialId } = resolution.credential;
    request.principal = { accountId, role, credentialId };
  });
}

/** A store outage is the server's problem, not a bad token: 503, so clients retry instead of discarding their key. */
async function resolveOrUnavailable(resolver: TokenResolver, token: string): ReturnType<TokenResolver['resolveToken']> {
  try {
    return await resolver.resolveToken(token);
  } catch (error) {
    if (isComputalotError(error)) throw error;
    throw new UnavailableError('credentials cannot be checked right now; retry shortly', { cause: error });
  }
}

/** Throws the 401, with the RFC 6750 challenge header so generic HTTP clients know what to send. */
function rejectRequest(reply: FastifyReply, reason: UnauthorizedReason): never {
  const error = reason === 'missing_token' ? undefined : reason === 'malformed_header' ? 'invalid_request' : 'invalid_token';
  void reply.header('www-authenticate', error === undefined ? 'Bearer realm="computalot"' : `Bearer realm="computalot", error="${error}"`);
  throw new UnauthorizedError(MESSAGES[reason], { details: { reason } });
}
