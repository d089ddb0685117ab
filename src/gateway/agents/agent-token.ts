/**
 * Shared-secret authentication of node agents. A controller with
 * `controller.agent_token` set accepts a stream only when its metadata carries
 * `authorization: Bearer <token>`. Without a token it must listen on loopback,
 * where only processes on the same machine can reach it (`computalot dev`, tests).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Metadata } from '@grpc/grpc-js';
import { ConfigError } from '../../shared/errors.js';
import { AGENT_AUTHORIZATION_METADATA_KEY, isLoopbackHost } from '../../shared/grpc-channel.js';

/**
 * Refuses a configuration that would let anyone on the network run code as an
 * agent (and receive other accounts' payloads): a non-loopback listener without a token.
 *
 * @throws ConfigError naming `controller.agent_token`.
 */
export function assertAgentListenerIsProtected(host: string, agentToken: string | undefined): void {
  if (agentToken !== undefined || isLoopbackHost(host)) return;
  throw new ConfigError(
    `controller.agent_token (or COMPUTALOT_AGENT_TOKEN) is required when the agent gRPC endpoint listens on ${host}, which is not a loopback address`,
    { details: { host } },
  );
}

/** True when `metadata` carries `authorization: Bearer <expected>`; compared in constant time. */
export function hasValidAgentToken(metadata: Metadata, expected: string): boolean {
  const [value] = metadata.get(AGENT_AUTHORIZATION_METADATA_KEY);
  if (typeof value !== 'string') return false;
  const match = /^Bearer\s+(\S+)$/i.exec(value.trim());
  if (match?.[1] === undefined) return false;
  // Hashing first gives both sides the same length, which timingSafeEqual requires.
  return timingSafeEqual(digest(match[1]), digest(expected));
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
