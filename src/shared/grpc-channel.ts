/**
 * gRPC settings both ends of the agent stream must agree on: keepalive pings so a
 * dead peer (crashed node, cut network, idle-killing proxy) is noticed within
 * seconds instead of at the next TCP timeout, and message size limits large
 * enough for MB-sized payloads and results.
 */
import type { ChannelOptions } from '@grpc/grpc-js';

/** Largest message either side accepts or sends: 64 MiB (payloads and results travel inline as JSON). */
export const AGENT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/** Keepalive ping interval in ms; both ends ping so either notices a silent peer. */
export const AGENT_KEEPALIVE_TIME_MS = 15_000;

/** How long a keepalive ping may go unanswered before the connection is dropped, in ms. */
export const AGENT_KEEPALIVE_TIMEOUT_MS = 10_000;

/** Options for the controller's gRPC server. */
export const AGENT_SERVER_CHANNEL_OPTIONS: ChannelOptions = {
  'grpc.keepalive_time_ms': AGENT_KEEPALIVE_TIME_MS,
  'grpc.keepalive_timeout_ms': AGENT_KEEPALIVE_TIMEOUT_MS,
  'grpc.max_receive_message_length': AGENT_MAX_MESSAGE_BYTES,
  'grpc.max_send_message_length': AGENT_MAX_MESSAGE_BYTES,
};

/**
 * Options for the agent's client channel. The agent runs its own reconnect loop
 * (backoff, controller rotation, re-registration), so each attempt uses a fresh
 * channel and grpc-js's built-in reconnect only has to cover a single attempt.
 */
export const AGENT_CLIENT_CHANNEL_OPTIONS: ChannelOptions = {
  'grpc.keepalive_time_ms': AGENT_KEEPALIVE_TIME_MS,
  'grpc.keepalive_timeout_ms': AGENT_KEEPALIVE_TIMEOUT_MS,
  // The stream is mostly quiet between heartbeats: keep pinging anyway.
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.max_receive_message_length': AGENT_MAX_MESSAGE_BYTES,
  'grpc.max_send_message_length': AGENT_MAX_MESSAGE_BYTES,
  // A long-lived stream must never be retried transparently: a retry would replay Register.
  'grpc.enable_retries': 0,
};

/** The metadata key carrying the agent token (`authorization: Bearer <token>`). */
export const AGENT_AUTHORIZATION_METADATA_KEY = 'authorization';

/** True for addresses only this machine can reach: 127.0.0.0/8, ::1, localhost. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return bare === 'localhost' || bare === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare) || bare === '::ffff:127.0.0.1';
}

/** `host:port` as a gRPC target or bind address (IPv6 hosts in brackets). */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}
