/**
 * CPU time of other processes (the agent, redis-server), read from
 * /proc/<pid>/stat: on a 2-core VM the controller competes with both for the
 * same cores, so a bench that reports only its own CPU hides where the rest
 * of the machine's time went. Linux only; elsewhere it reports nothing.
 */
import { readFileSync } from 'node:fs';

/** Clock ticks per second for utime/stime: 100 on every Linux build we run on (USER_HZ). */
const TICKS_PER_SECOND = 100;

/** User + system CPU seconds `pid` has used so far, or undefined when /proc cannot tell. */
export function processCpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after the state field.
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}
