import { crc32 } from 'node:zlib';
import type { Mutation } from './mutations.js';

/**
 * One log line per store call: `<crc32 hex> {"s":<seq>,"m":[<mutation>...]}\n`.
 *
 * A line is the unit of atomicity: replay applies all of a line or none of it,
 * so a commit touching many entities can never come back half-written. The
 * checksum tells a torn or zero-filled tail (crash mid-write) from a
 * complete line; `seq` increases by one per line across all log files, which
 * lets replay skip what a snapshot already covers and notice a missing line.
 */
export interface WalBatch {
  readonly s: number;
  readonly m: Mutation[];
}

const NEWLINE = 0x0a;

/** Encodes a batch whose mutations the caller already serialised. */
export function encodeWalLine(seq: number, mutationsJson: string): string {
  const body = `{"s":${seq},"m":${mutationsJson}}`;
  return `${crc32(body).toString(16).padStart(8, '0')} ${body}\n`;
}

/** Outcome of scanning one log file. */
export interface WalScan {
  readonly batches: WalBatch[];
  /** Bytes of whole, valid lines from the start of the file. */
  readonly validBytes: number;
  /** Why scanning stopped before the end of the file, if it did. */
  readonly badTail?: string;
  /** Whether anything (a valid line) follows the first bad line. */
  readonly badIsFinal: boolean;
}

/**
 * Splits a log file into batches, stopping at the first line that is
 * incomplete or fails its checksum. The caller decides whether that is a
 * tolerable torn tail (last line of the last file) or corruption.
 */
export function scanWal(buffer: Buffer): WalScan {
  const batches: WalBatch[] = [];
  let offset = 0;
  while (offset < buffer.length) {
    const end = buffer.indexOf(NEWLINE, offset);
    if (end < 0) return { batches, validBytes: offset, badTail: 'final line has no newline', badIsFinal: true };
    const batch = decodeLine(buffer.subarray(offset, end));
    if (typeof batch === 'string') {
      return { batches, validBytes: offset, badTail: batch, badIsFinal: end + 1 >= buffer.length };
    }
    batches.push(batch);
    offset = end + 1;
  }
  return { batches, validBytes: offset, badIsFinal: true };
}

/** The batch on a line, or why the line is not one. */
function decodeLine(line: Buffer): WalBatch | string {
  if (line.length < 10 || line[8] !== 0x20) return 'line too short or missing checksum';
  const expected = Number.parseInt(line.subarray(0, 8).toString('latin1'), 16);
  const body = line.subarray(9);
  if (!Number.isFinite(expected) || crc32(body) !== expected) return 'checksum mismatch';
  try {
    const batch = JSON.parse(body.toString('utf8')) as WalBatch;
    if (typeof batch.s !== 'number' || !Array.isArray(batch.m)) return 'line is not a batch';
    return batch;
  } catch {
    return 'line is not JSON';
  }
}
