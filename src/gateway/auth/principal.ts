import type { FastifyRequest } from 'fastify';
import { ForbiddenError, UnauthorizedError } from '../../shared/errors.js';

/**
 * Who is calling: set on the request by the auth plugin from the bearer token
 * (`flk_…` API key or `fls_…` wallet session). Every resource belongs to
 * `accountId`; routes scope every read and write by it, and answer another
 * account's resource exactly like a missing one (404).
 */
export interface Principal {
  readonly accountId: string;
  /** `member` may mutate its account's resources; `viewer` may only read them. */
  readonly role: 'member' | 'viewer';
  /** Id of the key or session (never the secret), for logs and audit. */
  readonly credentialId: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth plugin on authenticated routes; absent on public ones. */
    principal?: Principal;
  }
}

/** The caller of an authenticated route; 401 when the request carried no valid token. */
export function requirePrincipal(request: FastifyRequest): Principal {
  if (!request.principal) throw new UnauthorizedError();
  return request.principal;
}

/** The caller of a mutating route; 403 for a read-only (`viewer`) credential. */
export function requireMember(request: FastifyRequest): Principal {
  const principal = requirePrincipal(request);
  if (principal.role !== 'member') throw new ForbiddenError('this credential is read-only (role viewer); mutating requests need a member key');
  return principal;
}
