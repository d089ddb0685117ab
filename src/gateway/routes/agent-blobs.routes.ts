/**
 * `GET /internal/v1/blobs/:sha256`: node agents download project tarballs from
 * the controller. Not a user route: it takes the cluster's agent token (the
 * one the gRPC endpoint checks), and without a configured token only loopback
 * peers are served — the same rule the agent gateway applies.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyPluginCallbackZod } from '@fastify/type-provider-zod';
import { z } from 'zod';
import { ComputalotError, UnauthorizedError } from '../../shared/errors.js';
import { BlobNotFoundError, isBlobName, type BlobStore } from '../../store/blobs/index.js';

export interface AgentBlobRoutesOptions {
  readonly blobs: BlobStore;
  readonly agentToken?: string | undefined;
}

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;

export const agentBlobRoutes: FastifyPluginCallbackZod<AgentBlobRoutesOptions> = (app, options, done) => {
  app.get('/internal/v1/blobs/:sha256', { config: { public: true }, schema: { params: z.object({ sha256: z.string() }) } }, async (request, reply) => {
    if (options.agentToken) {
      const given = Buffer.from(request.headers.authorization ?? '');
      const expected = Buffer.from(`Bearer ${options.agentToken}`);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new UnauthorizedError('agent token required');
    } else if (!LOOPBACK.test(request.ip)) {
      throw new UnauthorizedError('blob downloads need controller.agent_token when agents are not on this host');
    }
    const { sha256 } = request.params;
    if (!isBlobName(sha256)) throw new ComputalotError('blob_not_found', 404, 'no such blob');
    try {
      const stream = await options.blobs.get(sha256);
      return reply.type('application/gzip').send(stream);
    } catch (error) {
      if (error instanceof BlobNotFoundError) throw new ComputalotError('blob_not_found', 404, 'no such blob');
      throw error;
    }
  });
  done();
};
