/**
 * Project endpoints (reference "Project API"). Every route is scoped by the
 * caller's account: another account's project answers exactly like a missing
 * one (404 project_not_found). Reads need any credential; writes need a
 * `member` one (403 for `viewer`).
 */
import { Readable } from 'node:stream';
import type { FastifyPluginCallbackZod } from '@fastify/type-provider-zod';
import { z } from 'zod';
import { MAX_TARBALL_BYTES, pushProject, TarballTooLargeError, type ProjectRecord, type ProjectRegistry } from '../../projects/index.js';
import type { BlobStore } from '../../store/blobs/index.js';
import { requireMember, requirePrincipal } from '../auth/principal.js';
import {
  createProjectBodySchema,
  initProjectBodySchema,
  projectListSchema,
  projectNameParamsSchema,
  projectStatusDetailsSchema,
  projectStatusSchema,
  projectViewSchema,
  pushResponseSchema,
  updateProjectBodySchema,
  type ProjectView,
} from '../schemas/projects.schema.js';

export interface ProjectRoutesOptions {
  readonly projects: ProjectRegistry;
  readonly blobs: BlobStore;
  /** Default 100 MB; tests lower it. */
  readonly maxTarballBytes?: number;
}

const BASE = '/api/v1/projects';

/** Registers the project endpoints. */
export const projectRoutes: FastifyPluginCallbackZod<ProjectRoutesOptions> = (app, { projects, blobs, maxTarballBytes = MAX_TARBALL_BYTES }, done) => {
  const params = projectNameParamsSchema;
  const view = (record: ProjectRecord): ProjectView => projectView(record, projects);

  app.post(BASE, { schema: { body: createProjectBodySchema, response: { 201: projectViewSchema } } }, async (request, reply) => {
    const { accountId } = requireMember(request);
    const record = await projects.create(accountId, request.body);
    void reply.code(201);
    return view(record);
  });

  app.get(BASE, { schema: { response: { 200: projectListSchema } } }, async (request) => {
    const { accountId } = requirePrincipal(request);
    return { projects: (await projects.list(accountId)).map(view) };
  });

  app.get(`${BASE}/:name`, { schema: { params, response: { 200: projectViewSchema } } }, async (request) => {
    return view(await projects.get(requirePrincipal(request).accountId, request.params.name));
  });

  app.put(`${BASE}/:name`, { schema: { params, body: updateProjectBodySchema, response: { 200: projectViewSchema } } }, async (request) => {
    return view(await projects.updateMetadata(requireMember(request).accountId, request.params.name, request.body));
  });

  app.delete(`${BASE}/:name`, { schema: { params, response: { 200: z.object({ name: z.string(), deleted: z.literal(true) }) } } }, async (request) => {
    await projects.delete(requireMember(request).accountId, request.params.name);
    return { name: request.params.name, deleted: true as const };
  });

  app.post(`${BASE}/:name/init`, { schema: { params, body: initProjectBodySchema, response: { 202: projectStatusSchema } } }, async (request, reply) => {
    const record = await projects.requestInit(requireMember(request).accountId, request.params.name);
    void reply.code(202);
    return projects.status(record);
  });

  app.post(`${BASE}/:name/invalidate`, { schema: { params, response: { 200: projectStatusSchema } } }, async (request) => {
    return projects.status(await projects.invalidate(requireMember(request).accountId, request.params.name));
  });

  app.get(`${BASE}/:name/status`, { schema: { params, response: { 200: projectStatusSchema } } }, async (request) => {
    return projects.status(await projects.get(requirePrincipal(request).accountId, request.params.name));
  });

  app.get(`${BASE}/:name/status/details`, { schema: { params, response: { 200: projectStatusDetailsSchema } } }, async (request) => {
    return projects.statusDetails(await projects.get(requirePrincipal(request).accountId, request.params.name));
  });

  void app.register(pushRoute, { projects, blobs, maxTarballBytes });
  done();
};

/**
 * `POST /:name/push`. The body is the raw tarball whatever its Content-Type
 * (curl --data-binary sends x-www-form-urlencoded), so in this route's own
 * context every body parser is replaced by a pass-through stream, and the
 * 100 MB limit is enforced while the body is stored.
 */
const pushRoute: FastifyPluginCallbackZod<Required<ProjectRoutesOptions>> = (app, { projects, blobs, maxTarballBytes }, done) => {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, parsed) => parsed(null, payload));
  app.post(`${BASE}/:name/push`, { schema: { params: projectNameParamsSchema, response: { 200: pushResponseSchema } } }, async (request) => {
    const { accountId } = requireMember(request);
    const declared = Number(request.headers['content-length'] ?? NaN);
    if (Number.isFinite(declared) && declared > maxTarballBytes) throw new TarballTooLargeError(maxTarballBytes);
    const body = request.body instanceof Readable ? request.body : Readable.from([]);
    return pushProject({ registry: projects, blobs, maxTarballBytes }, accountId, request.params.name, body);
  });
  done();
};

function projectView(record: ProjectRecord, projects: ProjectRegistry): ProjectView {
  const revision = record.active_revision;
  return {
    ...projects.status(record),
    remote_dir: record.remote_dir,
    env: { ...record.env },
    setup_timeout_s: record.setup_timeout_s,
    created_at: record.created_at,
    active_revision:
      revision === null
        ? null
        : {
            content_hash: revision.content_hash,
            tarball_sha256: revision.tarball_sha256,
            size: revision.size,
            unpacked_size: revision.unpacked_size,
            pushed_at: revision.pushed_at,
            file_count: revision.files.length,
            manifest: { ...revision.manifest },
            build_plan: { ...revision.build_plan },
          },
  };
}
