/**
 * Finding a launcher's descendants through `/proc`, for hosts where no cgroup
 * holds the tree. Processes that re-parent inside a pid namespace stay below the
 * namespace's init (bwrap's reaper), so a walk from the launcher finds them all.
 */
import { readdirSync, readFileSync } from 'node:fs';

interface ProcEntry {
  readonly pid: number;
  readonly ppid: number;
  readonly comm: string;
}

function readProcTable(): ProcEntry[] {
  const entries: ProcEntry[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // `comm` is in parentheses and may itself contain spaces or parentheses.
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const fields = stat.slice(close + 2).split(' ');
      entries.push({ pid: Number(name), ppid: Number(fields[1]), comm });
    } catch {
      continue;
    }
  }
  return entries;
}

/** Descendants of `rootPid` (not including it), each with its command name. */
export function descendants(rootPid: number): { pid: number; comm: string }[] {
  const table = readProcTable();
  const children = new Map<number, ProcEntry[]>();
  for (const entry of table) {
    const list = children.get(entry.ppid) ?? [];
    list.push(entry);
    children.set(entry.ppid, list);
  }
  const found: { pid: number; comm: string }[] = [];
  const queue = [rootPid];
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    for (const child of children.get(pid) ?? []) {
      found.push({ pid: child.pid, comm: child.comm });
      queue.push(child.pid);
    }
  }
  return found;
}

/** Sends `signal` to each pid, ignoring those already gone. */
export function signalPids(pids: readonly number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // Exited between listing and signalling.
    }
  }
}
