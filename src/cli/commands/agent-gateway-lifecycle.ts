/** Starting the controller's agent gRPC endpoint from the configuration, and saying where it listens. */
import { AgentGatewayGrpcServer, type AgentSessionHandler } from '../../gateway/index.js';
import type { ClusterConfig } from '../../shared/config.js';
import { formatHostPort } from '../../shared/grpc-channel.js';
import type { Logger } from '../../shared/logger.js';
import type { CliOutput } from '../main.js';

/**
 * Binds `controller.grpc` and prints `Agent gateway listening on HOST:PORT`
 * (the real port when the config says 0).
 *
 * @throws ConfigError when the endpoint is not on loopback and no agent token is set; or when the port cannot be bound.
 */
export async function startAgentGateway(config: ClusterConfig, handler: AgentSessionHandler, logger: Logger, output: CliOutput): Promise<{ server: AgentGatewayGrpcServer; address: string }> {
  const server = new AgentGatewayGrpcServer({ handler, controllerId: config.controller.id, logger, agentToken: config.controller.agent_token });
  const { host } = config.controller.grpc;
  const port = await server.start({ host, port: config.controller.grpc.port });
  // A wildcard bind is reachable on loopback, which is what a local agent should dial.
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  const address = formatHostPort(reachable, port);
  output.stdout(`Agent gateway listening on ${address}\n`);
  return { server, address };
}
