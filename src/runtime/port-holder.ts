import { readdir, readFile, readlink } from 'node:fs/promises';

/**
 * Who listens on a TCP port, as far as Linux's /proc tells: the sockets in LISTEN state on
 * that port (from /proc/net/tcp and tcp6, with their owner's uid) and the processes that
 * hold them (a `socket:[inode]` link under /proc/PID/fd; only our own user's are readable).
 * Elsewhere, or without /proc, nothing is known and callers say so.
 */
export interface Listeners {
  /** False where the system cannot tell (no /proc): nothing below means anything then. */
  known: boolean;
  /** Socket inodes listening on the port. */
  inodes: Set<string>;
  /** The uid owning each listening socket. */
  uids: number[];
}

const listenState = '0A';

export async function listenersOn(port: number): Promise<Listeners> {
  const listeners: Listeners = { known: false, inodes: new Set(), uids: [] };
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = await readFile(table, 'utf8');
    } catch {
      continue;
    }
    listeners.known = true;
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10 || fields[3] !== listenState) continue;
      const local = fields[1]!;
      if (Number.parseInt(local.slice(local.lastIndexOf(':') + 1), 16) !== port) continue;
      listeners.uids.push(Number(fields[7]));
      listeners.inodes.add(fields[9]!);
    }
  }
  return listeners;
}

/** The pids (among `pids`, default every process we may look into) holding one of `inodes`. */
export async function holdersOf(
  inodes: ReadonlySet<string>,
  pids?: readonly number[],
): Promise<number[]> {
  if (inodes.size === 0) return [];
  const holds = async (pid: number): Promise<boolean> => {
    let fds: string[];
    try {
      fds = await readdir(`/proc/${pid}/fd`);
    } catch {
      return false; // Gone, or another user's.
    }
    for (const fd of fds) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      const match = /^socket:\[(\d+)\]$/.exec(target);
      if (match !== null && inodes.has(match[1]!)) return true;
    }
    return false;
  };
  const candidates = pids ?? (await allPids());
  const found = await Promise.all(candidates.map(holds));
  return candidates.filter((_, i) => found[i]);
}

/** Every pid in /proc. */
export async function allPids(): Promise<number[]> {
  try {
    return (await readdir('/proc')).filter((entry) => /^\d+$/.test(entry)).map(Number);
  } catch {
    return [];
  }
}

/** The process group of `pid` (an instance runs in its own), or undefined if it is gone. */
export async function processGroupOf(pid: number): Promise<number | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
  } catch {
    return undefined;
  }
}

/**
 * The process other than group `pgid` that listens on `port`, in words: undefined when the
 * group holds the port, and when the system cannot tell (no /proc, or a holder that is not
 * ours to inspect, such as a container runtime's proxy started on the instance's behalf).
 */
export async function strangerOn(port: number, pgid: number): Promise<string | undefined> {
  const listeners = await listenersOn(port);
  if (!listeners.known || listeners.inodes.size === 0) return undefined;
  // The group's own few processes first: the whole process table only to name a stranger.
  const pids = await allPids();
  const groups = await Promise.all(pids.map(processGroupOf));
  const members = pids.filter((_, i) => groups[i] === pgid);
  if ((await holdersOf(listeners.inodes, members)).length > 0) return undefined;
  const holders = await holdersOf(listeners.inodes, pids);
  if (holders.length === 0) return undefined;
  return (await Promise.all(holders.map(describeProcess))).join(', ');
}

/** `pid 4242 (node server.js)`, or the pid alone when its command line is unreadable. */
export async function describeProcess(pid: number): Promise<string> {
  try {
    const command = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter(Boolean);
    const shown = command.join(' ');
    return shown === ''
      ? `pid ${pid}`
      : `pid ${pid} (${shown.length > 80 ? `${shown.slice(0, 77)}...` : shown})`;
  } catch {
    return `pid ${pid}`;
  }
}

/** Who holds `port`, in words, or undefined when the system cannot tell. */
export async function describeHolder(port: number): Promise<string | undefined> {
  const listeners = await listenersOn(port);
  if (!listeners.known || listeners.inodes.size === 0) return undefined;
  const holders = await holdersOf(listeners.inodes);
  if (holders.length > 0) return (await Promise.all(holders.map(describeProcess))).join(', ');
  const uids = [...new Set(listeners.uids)];
  return `a process of uid ${uids.join(', ')} (not ours to inspect)`;
}
