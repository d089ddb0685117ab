/**
 * The projects area's public surface (STYLE.md §9): registry (records, status,
 * agent hooks), push pipeline, manifest, Dockerfile plan, safe tarballs.
 */
export { ProjectRegistry, type DispatchRevision, type NewProject, type ProjectMetadataPatch, type ProjectRegistryOptions, type PublishResult } from './registry/project-registry.js';
export { ProjectEvents, type InitRequest, type InvalidateNotice } from './registry/project-events.js';
export {
  PROJECT_NAME_PATTERN,
  DEFAULT_SETUP_TIMEOUT_S,
  type ProjectRecord,
  type ActiveRevision,
  type InitState,
  type NodePrepareState,
  type NodeRecord,
  type RevisionFile,
} from './registry/project-record.js';
export { projectStatus, projectStatusDetails, effectiveInitState, type ProjectStatus, type ProjectStatusDetails, type NodeStatus } from './registry/project-status.js';
export { pushProject, MAX_TARBALL_BYTES, type PushDeps, type PushResult } from './push/push-project.js';
export * from './errors.js';
export * from './manifest/index.js';
export * from './dockerfile/index.js';
export * from './tarball/index.js';
