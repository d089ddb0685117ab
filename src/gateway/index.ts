/** Public surface of the gateway area. */
export { buildGateway } from './build-gateway.js';
export type { GatewayDeps, GatewayInstance, ReadinessCheck, ReadinessReport } from './gateway-types.js';
export { toHttpError, type HttpErrorAnswer } from './error-handler.js';
export type { ErrorBody } from './schemas/error.schema.js';
