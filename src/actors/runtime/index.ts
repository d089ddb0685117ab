/** The actor runtime's public surface (STYLE.md §9). */
export { ControllerNode, type ControllerNodeOptions, type Readiness } from './controller-node.js';
export { ActorRouter, UnknownActorKindError, type ActorEvent } from './router.js';
export { readViews } from './read-views.js';
export type { ActorKind, PersistedActorState } from './actor-kind.js';
export type { EffectHandler, ExternalEffect } from './outbox-relay.js';
export { effectActions, declaredEffects, type DeclaredEffect, type TimedEvent } from './effects.js';
export { persistSnapshot, restoreSnapshot } from './actor-state.js';
export { preferredShards, shardLeaseName } from './shard-assignment.js';
export { CONTROLLER_GROUP } from './shard-ownership.js';
