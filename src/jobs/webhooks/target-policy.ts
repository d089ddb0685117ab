/**
 * SSRF guard for `callback_url`. A job names the URL and the *controller* calls
 * it, from inside the cluster's network; without this guard a user could make
 * it POST to the cloud metadata service, Redis's HTTP-speaking neighbours or an
 * admin port on loopback. Loopback, private, link-local and similar addresses
 * are refused unless `jobs.webhooks.allowed_targets` lists them.
 *
 * Checked twice: at submit from the URL alone (literal IPs, `localhost`), so a
 * bad URL is a 422 and not a silent failure a day later; and at delivery after
 * DNS resolution (resolve-target.ts), because a public-looking name may resolve
 * to anything.
 */
import type { WebhooksConfig } from '../../shared/config.js';
import { embeddedIpv4, parseIp, parseIpRange, range, rangeContains, type IpAddress, type IpRange } from './ip-address.js';

/** The setting that lifts a refusal; named in every refusal so an operator knows what to change. */
export const ALLOWED_TARGETS_SETTING = 'jobs.webhooks.allowed_targets';

/** Address classes a callback may not reach; the first match names the refusal. */
const REFUSED_RANGES: readonly { readonly range: IpRange; readonly kind: string }[] = [
  { range: range('0.0.0.0/8'), kind: 'unspecified' },
  { range: range('10.0.0.0/8'), kind: 'private' },
  { range: range('100.64.0.0/10'), kind: 'carrier-grade NAT' },
  { range: range('127.0.0.0/8'), kind: 'loopback' },
  { range: range('169.254.0.0/16'), kind: 'link-local' },
  { range: range('172.16.0.0/12'), kind: 'private' },
  { range: range('192.0.0.0/24'), kind: 'IETF-reserved' },
  { range: range('192.168.0.0/16'), kind: 'private' },
  { range: range('198.18.0.0/15'), kind: 'benchmarking' },
  { range: range('224.0.0.0/4'), kind: 'multicast' },
  { range: range('240.0.0.0/4'), kind: 'reserved' },
  { range: range('::/128'), kind: 'unspecified' },
  { range: range('::1/128'), kind: 'loopback' },
  // IPv4-compatible (deprecated); its mapped sibling is judged by the v4 address it carries.
  { range: range('::/96'), kind: 'reserved' },
  { range: range('fc00::/7'), kind: 'private' },
  { range: range('fe80::/10'), kind: 'link-local' },
  { range: range('fec0::/10'), kind: 'site-local' },
  { range: range('ff00::/8'), kind: 'multicast' },
];

/** `allowed_targets`, compiled once. */
export interface TargetPolicy {
  /** Lower-case host names, without a trailing dot. */
  readonly allowedHosts: ReadonlySet<string>;
  /** Addresses and CIDR ranges (an address is a full-length range). */
  readonly allowedRanges: readonly IpRange[];
}

const HOST_NAME = /^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/;

/**
 * Compiles the allow-list.
 *
 * @throws Error naming the setting when an entry is neither a host name, an address nor a CIDR range.
 */
export function compileTargetPolicy(config: Pick<WebhooksConfig, 'allowed_targets'>): TargetPolicy {
  const allowedHosts = new Set<string>();
  const allowedRanges: IpRange[] = [];
  for (const entry of config.allowed_targets) {
    const text = entry.trim().toLowerCase();
    const parsed = parseIpRange(text);
    if (parsed !== null) allowedRanges.push(parsed);
    else if (HOST_NAME.test(normalizeHostName(text))) allowedHosts.add(normalizeHostName(text));
    else throw new Error(`${ALLOWED_TARGETS_SETTING}: "${entry}" is neither a host name, an IP address nor a CIDR range`);
  }
  return { allowedHosts, allowedRanges };
}

/** Lower case, brackets and trailing dots dropped: `Hooks.Example.` and `hooks.example` are one host. */
export function normalizeHostName(host: string): string {
  return host.toLowerCase().replace(/\.+$/, '');
}

/**
 * Why `ip` may not be called — its class, e.g. `loopback` — or null when it is
 * public or allow-listed. A v6 address carrying a v4 one (mapped, NAT64) is
 * judged by the v4 address too, so `::ffff:127.0.0.1` is loopback.
 */
export function addressRefusal(policy: TargetPolicy, ip: IpAddress): string | null {
  const carried = embeddedIpv4(ip);
  const allowed = (address: IpAddress) => policy.allowedRanges.some((allowedRange) => rangeContains(allowedRange, address));
  if (allowed(ip) || (carried !== null && allowed(carried))) return null;
  const kindOf = (address: IpAddress) => REFUSED_RANGES.find((refused) => rangeContains(refused.range, address))?.kind ?? null;
  return kindOf(ip) ?? (carried === null ? null : kindOf(carried));
}

/** True when `allowed_targets` names this host exactly; its addresses are then not checked. */
export function hostAllowedByName(policy: TargetPolicy, host: string): boolean {
  return policy.allowedHosts.has(normalizeHostName(host));
}

/** A callback URL that passed the URL-level checks. */
export interface CallbackTarget {
  readonly url: URL;
  /** Host as connected to: a name, or an address without brackets. */
  readonly host: string;
  /** Set when the host is an IP literal (then no lookup happens). */
  readonly ip: IpAddress | null;
}

export type CallbackJudgement = { readonly ok: true; readonly target: CallbackTarget } | { readonly ok: false; readonly refusal: string };

/**
 * The checks that need no DNS: scheme, literal addresses, `localhost` names.
 * The URL parser has already normalised odd IPv4 spellings (`0x7f.1`,
 * `2130706433`) into dotted quads, so they are caught like `127.0.0.1`.
 */
export function judgeCallbackUrl(text: string, policy: TargetPolicy): CallbackJudgement {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { ok: false, refusal: 'callback_url is not a valid URL' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { ok: false, refusal: `callback_url must be an http or https URL, not ${url.protocol}` };
  const ip = parseIp(url.hostname);
  const host = ip === null ? normalizeHostName(url.hostname) : url.hostname.replace(/^\[|\]$/g, '');
  if (ip !== null) {
    const kind = addressRefusal(policy, ip);
    if (kind !== null) return { ok: false, refusal: refusalMessage(host, `is a ${kind} address`) };
  } else if ((host === 'localhost' || host.endsWith('.localhost')) && !hostAllowedByName(policy, host)) {
    return { ok: false, refusal: refusalMessage(host, 'is a loopback name') };
  }
  return { ok: true, target: { url, host, ip } };
}

/** The human half of a refusal; the code (`callback_url_not_allowed`) is the machine half. */
export function refusalMessage(host: string, why: string): string {
  return `callback_url host ${host} ${why}; webhooks are not sent to loopback, private or link-local targets unless ${ALLOWED_TARGETS_SETTING} lists them`;
}

const compiled = new WeakMap<object, TargetPolicy>();

/**
 * Submit-time check: why `url` may not be a job's `callback_url`, or null when
 * it may. Names that resolve somewhere refused are caught at delivery instead.
 */
export function callbackUrlRefusal(url: string, config: Pick<WebhooksConfig, 'allowed_targets'>): string | null {
  let policy = compiled.get(config);
  if (policy === undefined) {
    policy = compileTargetPolicy(config);
    compiled.set(config, policy);
  }
  const judgement = judgeCallbackUrl(url, policy);
  return judgement.ok ? null : judgement.refusal;
}
