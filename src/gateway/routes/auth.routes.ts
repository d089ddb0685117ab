/**
 * `/api/v1/auth/*` routes owned by the credential layer. Registration is
 * closed during the private beta (api-details.md §2.3): the endpoint exists,
 * anonymously, only to tell a caller how to get access. The wallet sign-in
 * routes (`/auth/wallet/challenge`, `/auth/wallet/verify`) arrive with the
 * wallet issue and declare themselves public the same way.
 */
import type { FastifyPluginCallbackZod } from '@fastify/type-provider-zod';
import { ComputalotError } from '../../shared/errors.js';
import { errorBodySchema } from '../schemas/error.schema.js';

/** `POST /api/v1/auth/register`, always: accounts are admin-provisioned during the beta. HTTP 403. */
export class RegistrationClosedError extends ComputalotError {
  constructor() {
    super(
      'registration_closed',
      403,
      'Self-service registration is closed during the private beta. Join the waitlist at / to request access, ' +
        'or ask an admin for an API key (flk_…) and send it as Authorization: Bearer flk_…. ' +
        'Admin-whitelisted wallets can sign in with POST /api/v1/auth/wallet/challenge and /api/v1/auth/wallet/verify.',
      {
        details: {
          waitlist_url: '/',
          api_key_prefix: 'flk_',
          wallet_challenge_url: '/api/v1/auth/wallet/challenge',
          wallet_verify_url: '/api/v1/auth/wallet/verify',
          docs_url: '/api/v1/docs',
        },
      },
    );
  }
}

/** Registers `POST /api/v1/auth/register` (public). */
export const authRoutes: FastifyPluginCallbackZod = (app, _options, done) => {
  app.post('/api/v1/auth/register', { config: { public: true }, schema: { response: { 403: errorBodySchema } } }, () => {
    throw new RegistrationClosedError();
  });
  done();
};
