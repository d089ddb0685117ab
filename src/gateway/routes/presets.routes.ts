/** `GET /api/v1/presets`: named resource requirement shapes (ARCHITECTURE.md §5). */
import type { FastifyPluginCallbackZod } from '@fastify/type-provider-zod';
import { RESOURCE_PRESETS } from '../../scheduler/presets.js';
import { requirePrincipal } from '../auth/principal.js';

export const presetRoutes: FastifyPluginCallbackZod = (app, _options, done) => {
  app.get('/api/v1/presets', async (request) => {
    requirePrincipal(request);
    return { presets: RESOURCE_PRESETS };
  });
  done();
};
