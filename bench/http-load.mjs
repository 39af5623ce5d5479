// Load for the gateway benchmark: wrk (closed loop, for peak rate) and an open-loop
// generator (a fixed request rate, latency counted from each request's scheduled time so
// that a stalled server cannot hide its queueing: no coordinated omission).
import { spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { percentile } from './lib.mjs';

const UNITS = { us: 0.001, ms: 1, s: 1000 };

/** One wrk run; counts what wrk completed, with non-2xx/3xx and socket errors apart. */
export function wrk(url, { seconds, connections, headers = {} }) {
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency'];
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`);
  const run = spawnSync('wrk', [...args, url], { encoding: 'utf8' });
  if (run.error) throw run.error;
  const out = run.stdout;
  const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
  if (!Number.isFinite(requests)) throw new Error(`wrk: ${run.stderr || out}`.trim());
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const pct = (p) => {
    const m = new RegExp(`\\s${p}%\\s+([\\d.]+)(us|ms|s)\\b`).exec(out);
    return m ? Number(m[1]) * UNITS[m[2]] : Number.NaN;
  };
  return {
    requests,
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0),
    p50: pct(50),
    p99: pct(99),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
    socketErrors: socket ? socket.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
  };
}

/**
 * Reads HTTP/1.1 responses off one keep-alive connection; one request in flight at a time.
 * `onResponse(conn, status, head)` gets the status line and headers as latin1 text.
 */
export class Conn {
  constructor(host, port, onResponse, onError) {
    this.buffer = Buffer.alloc(0);
    this.due = 0;
    this.busy = false;
    this.onResponse = onResponse;
    this.socket = connect({ host, port, noDelay: true });
    this.socket.on('data', (chunk) => this.#read(chunk));
    this.socket.on('error', onError);
    this.socket.on('close', () => this.busy && onError(new Error('connection closed')));
  }

  send(request, due) {
    this.busy = true;
    this.due = due;
    this.socket.write(request);
  }

  #read(chunk) {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    for (;;) {
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = this.buffer.toString('latin1', 0, end);
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      let total;
      if (length) total = end + 4 + Number(length[1]);
      else if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
        const last = this.buffer.indexOf('0\r\n\r\n', end + 4);
        if (last < 0) return;
        total = last + 5;
      } else total = end + 4;
      if (this.buffer.length < total) return;
      const status = Number(head.slice(9, 12));
      this.buffer = this.buffer.subarray(total);
      this.busy = false;
      this.onResponse(this, status, head);
    }
  }

  close() {
    this.socket.destroy();
  }
}

/**
 * Sends `rate` GET requests per second for `seconds` over up to `connections` keep-alive
 * connections; a request due while every connection is busy waits, and its wait counts.
 */
export async function openLoop(url, { rate, seconds, connections, headers = {} }) {
  const { hostname, port, pathname, search } = new URL(url);
  let head = `GET ${pathname}${search} HTTP/1.1\r\nhost: ${hostname}:${port}\r\n`;
  for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
  const request = Buffer.from(`${head}\r\n`);
  const total = Math.round(rate * seconds);
  const latencies = new Float64Array(total);
  const intervalNs = 1e9 / rate;
  let sent = 0;
  let done = 0;
  let non2xx = 0;
  let failure = null;
  const waiting = [];
  const idle = [];
  const start = process.hrtime.bigint();
  const nowNs = () => Number(process.hrtime.bigint() - start);

  return await new Promise((resolve) => {
    let timer;
    let finished = false;
    const finish = () => {
      clearInterval(timer);
      for (const c of conns) c.close();
      const sorted = latencies.subarray(0, done).sort();
      resolve({
        rate,
        requests: done,
        non2xx,
        error: failure?.message,
        p50: percentile(sorted, 50),
        p99: percentile(sorted, 99),
        p999: percentile(sorted, 99.9),
      });
    };
    const dispatch = () => {
      const now = nowNs();
      while (sent < total && sent * intervalNs <= now) waiting.push(sent++ * intervalNs);
      while (waiting.length && idle.length) idle.pop().send(request, waiting.shift());
      // More than a second behind: the server cannot take this rate.
      if (waiting.length > rate) failure ??= new Error(`cannot keep up with ${rate} req/s`);
      if ((done === total || failure) && !finished) {
        finished = true;
        finish();
      }
    };
    const onResponse = (conn, status) => {
      latencies[done++] = (nowNs() - conn.due) / 1e6;
      if (status < 200 || status >= 400) non2xx++;
      idle.push(conn);
      dispatch();
    };
    const onError = (error) => {
      failure ??= error;
      dispatch();
    };
    const conns = Array.from({ length: connections }, () => {
      const c = new Conn(hostname, Number(port), onResponse, onError);
      idle.push(c);
      return c;
    });
    timer = setInterval(dispatch, 1);
  });
}
