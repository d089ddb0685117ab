/** Public surface of the gateway area. */
export { buildGateway } from './build-gateway.js';
export type { GatewayDeps, GatewayInstance, ReadinessCheck, ReadinessReport } from './gateway-types.js';
export { toHttpError, type HttpErrorAnswer } from './error-handler.js';
export type { ErrorBody } from './schemas/error.schema.js';
export { AgentGatewayGrpcServer, type AgentGatewayGrpcServerOptions, type AgentGatewayListenOptions, type AgentGatewayStopOptions } from './agents/agent-gateway-server.js';
export type { AgentSession, AgentSessionHandler, AgentTaskEvent } from './agents/agent-session.js';
export { requireMember, requirePrincipal, type Principal } from './auth/principal.js';
export type { TokenResolver, UnauthorizedReason } from './auth/authenticate.js';
