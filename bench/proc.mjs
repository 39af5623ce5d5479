// CPU accounting of other processes from /proc (Linux): what a proxy process and the
// processes it forked (cluster workers) spent, and how busy the machine was meanwhile.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

function clockTicks() {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

const TICK_US = 1e6 / clockTicks();

/** Fields of /proc/PID/stat after the command name (which may contain spaces). */
function statFields(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return {
      comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
      fields: stat.slice(stat.lastIndexOf(')') + 2).split(' '),
    };
  } catch {
    return null;
  }
}

/** The command name of a process, to check that we measure the proxy and not a wrapper. */
export function commandOf(pid) {
  return statFields(pid)?.comm ?? '';
}

/** `pid` and every live descendant of it. */
export function processTree(pid) {
  const parents = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const s = statFields(entry);
    if (s) parents.set(Number(entry), Number(s.fields[1]));
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) {
    for (const [child, parent] of parents) if (parent === tree[i]) tree.push(child);
  }
  return tree;
}

/** User + system CPU of the processes, all their threads included, in µs. */
export function cpuMicros(pids) {
  let ticks = 0;
  for (const pid of pids) {
    const s = statFields(pid);
    // utime and stime are the 14th and 15th fields of the whole line.
    if (s) ticks += Number(s.fields[11]) + Number(s.fields[12]);
  }
  return ticks * TICK_US;
}

/** CPU the children this process has waited for spent (wrk runs), in µs. */
export function reapedChildrenMicros() {
  const s = statFields('self');
  return s ? (Number(s.fields[13]) + Number(s.fields[14])) * TICK_US : 0;
}

/** Busy CPU of the whole machine, all cores, in µs. */
export function machineBusyMicros() {
  const cpu = readFileSync('/proc/stat', 'utf8')
    .split('\n')[0]
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const idle = cpu[3] + cpu[4];
  const total = cpu.slice(0, 8).reduce((a, b) => a + b, 0);
  return (total - idle) * TICK_US;
}
