/**
 * Delivery-time half of the SSRF guard: resolve the callback host, refuse it
 * when any of its addresses is refused, and hand back the one address the
 * POST must connect to. Connecting to that vetted address (not resolving the
 * name again) is what defeats DNS rebinding: a name that answered "public" to
 * the check cannot answer "127.0.0.1" to the connect.
 */
import { lookup } from 'node:dns/promises';
import { addressRefusal, hostAllowedByName, judgeCallbackUrl, refusalMessage, type TargetPolicy } from './target-policy.js';
import { parseIp } from './ip-address.js';

export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

/** Every address of a host name. Injected in tests; {@link systemLookup} otherwise. */
export type HostLookup = (host: string) => Promise<readonly ResolvedAddress[]>;

/** `node:dns` lookup (what `http.request` would use: /etc/hosts, then DNS), all addresses. */
export const systemLookup: HostLookup = async (host) =>
  (await lookup(host, { all: true, verbatim: true })).map((entry) => ({ address: entry.address, family: entry.family === 6 ? 6 : 4 }));

/** Where one attempt connects. */
export interface VettedTarget {
  readonly url: URL;
  /** The URL's host (name or address); sent as Host and used for TLS names. */
  readonly host: string;
  /** The vetted address the socket connects to. */
  readonly address: string;
  readonly family: 4 | 6;
}

export type TargetResolution =
  | { readonly ok: true; readonly target: VettedTarget }
  /** `retryable`: a lookup failure may pass later; a refusal will not. */
  | { readonly ok: false; readonly error: string; readonly retryable: boolean };

export async function resolveCallbackTarget(urlText: string, policy: TargetPolicy, lookupHost: HostLookup, timeoutMs: number): Promise<TargetResolution> {
  const judgement = judgeCallbackUrl(urlText, policy);
  if (!judgement.ok) return { ok: false, error: judgement.refusal, retryable: false };
  const { url, host, ip } = judgement.target;
  if (ip !== null) return { ok: true, target: { url, host, address: host, family: ip.family } };

  let addresses: readonly ResolvedAddress[];
  try {
    addresses = await withTimeout(lookupHost(host), timeoutMs, `resolving ${host} took over ${timeoutMs} ms`);
  } catch (error) {
    return { ok: false, error: `cannot resolve ${host}: ${error instanceof Error ? error.message : String(error)}`, retryable: true };
  }
  const first = addresses[0];
  if (first === undefined) return { ok: false, error: `cannot resolve ${host}: no address`, retryable: true };
  // A name listed in allowed_targets may resolve anywhere: that is what listing it means.
  if (!hostAllowedByName(policy, host)) {
    for (const { address } of addresses) {
      const resolved = parseIp(address);
      const kind = resolved === null ? 'unrecognised' : addressRefusal(policy, resolved);
      if (kind !== null) return { ok: false, error: refusalMessage(host, `resolves to ${address}, a ${kind} address`), retryable: false };
    }
  }
  return { ok: true, target: { url, host, address: first.address, family: first.family } };
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
