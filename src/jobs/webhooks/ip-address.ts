/**
 * IP addresses and CIDR ranges as bytes, for the webhook target policy. Node's
 * `net.isIP` validates; the parsing here only has to turn a valid address into
 * 4 or 16 bytes so prefixes can be compared bit by bit, for v4 and v6 alike.
 */
import { isIP } from 'node:net';

export interface IpAddress {
  readonly family: 4 | 6;
  /** 4 bytes (v4) or 16 bytes (v6), network order. */
  readonly bytes: readonly number[];
}

export interface IpRange {
  readonly family: 4 | 6;
  readonly bytes: readonly number[];
  /** Leading bits that must match. */
  readonly prefix: number;
}

/**
 * `text` as an address, or null when it is not one. Accepts the bracketed form
 * URLs use (`[::1]`) and drops a v6 zone (`fe80::1%eth0`): the zone picks an
 * interface, not a different address class.
 */
export function parseIp(text: string): IpAddress | null {
  const unbracketed = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const bare = unbracketed.split('%')[0] ?? '';
  const family = isIP(bare);
  if (family === 4) return { family: 4, bytes: bare.split('.').map(Number) };
  if (family === 6) return { family: 6, bytes: ipv6Bytes(bare) };
  return null;
}

/** `10.0.0.0/8`, `fc00::/7` or a single address (a full-length range); null when malformed. */
export function parseIpRange(text: string): IpRange | null {
  const [address, prefixText, extra] = text.split('/');
  if (address === undefined || extra !== undefined) return null;
  const ip = parseIp(address);
  if (ip === null) return null;
  const width = ip.family === 4 ? 32 : 128;
  if (prefixText === undefined) return { ...ip, prefix: width };
  if (!/^\d{1,3}$/.test(prefixText)) return null;
  const prefix = Number(prefixText);
  return prefix <= width ? { ...ip, prefix } : null;
}

export function rangeContains(range: IpRange, ip: IpAddress): boolean {
  if (range.family !== ip.family) return false;
  for (let bit = 0; bit < range.prefix; bit += 8) {
    const bits = Math.min(8, range.prefix - bit);
    const mask = (0xff << (8 - bits)) & 0xff;
    if (((range.bytes[bit / 8] ?? 0) & mask) !== ((ip.bytes[bit / 8] ?? 0) & mask)) return false;
  }
  return true;
}

/** Prefixes whose last 32 bits are an IPv4 address the packet really goes to. */
const V4_CARRYING_RANGES: readonly IpRange[] = [
  // IPv4-mapped (::ffff:a.b.c.d): a dual-stack socket connects to the v4 address.
  range('::ffff:0:0/96'),
  // NAT64 well-known prefix: the translator forwards to the embedded v4 address.
  range('64:ff9b::/96'),
];

/** The IPv4 address a v6 address stands for (mapped, NAT64), or null. */
export function embeddedIpv4(ip: IpAddress): IpAddress | null {
  if (ip.family !== 6 || !V4_CARRYING_RANGES.some((carrier) => rangeContains(carrier, ip))) return null;
  return { family: 4, bytes: ip.bytes.slice(12) };
}

/** For constant tables: a range known to be valid. */
export function range(text: string): IpRange {
  const parsed = parseIpRange(text);
  if (parsed === null) throw new Error(`invalid IP range ${text}`);
  return parsed;
}

/** 16 bytes of a v6 address `isIP` accepted, including `::` and a dotted v4 tail. */
function ipv6Bytes(text: string): number[] {
  let head = text;
  const tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  const last = text.slice(lastColon + 1);
  if (last.includes('.')) {
    const [a = 0, b = 0, c = 0, d = 0] = last.split('.').map(Number);
    tail.push((a << 8) | b, (c << 8) | d);
    head = text.slice(0, lastColon);
    // `::1.2.3.4` and `1::1.2.3.4`: the slice cut one colon of the `::`.
    if (head.endsWith(':')) head += ':';
  }
  const [left = '', right] = head.split('::');
  const groupsOf = (part: string) => (part === '' ? [] : part.split(':').map((group) => parseInt(group, 16)));
  const leftGroups = groupsOf(left);
  const rightGroups = right === undefined ? [] : groupsOf(right);
  const zeros = 8 - tail.length - leftGroups.length - rightGroups.length;
  const groups = [...leftGroups, ...new Array<number>(right === undefined ? 0 : zeros).fill(0), ...rightGroups, ...tail];
  return groups.flatMap((group) => [group >> 8, group & 0xff]);
}
