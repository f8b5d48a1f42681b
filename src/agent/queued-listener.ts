/**
 * A listening socket that never accept()s, so completed connections stay in the kernel's accept
 * queue (and, once it is full, new SYNs are dropped: tcp_v4_syn_recv_sock / sk_acceptq_is_full).
 *
 * Why a worker thread: in Node, `server.listen()` makes libuv call listen(2) and at once start
 * polling the fd; every poll round then accept()s all queued connections (uv__server_io), and
 * net.Server has no way to stop that (there is no readStop for a listening handle, and
 * `server.close()` closes the listener itself, which resets the queued connections). So the
 * listener lives in a worker thread that calls listen(2) and then blocks its own event loop in
 * Atomics.wait before that loop ever polls: the kernel keeps queueing, nobody accepts. To close it,
 * the main thread flips a shared flag; the worker wakes and closes the server synchronously, still
 * before any poll, so nothing is accepted even then (close(2) of a listener with a non-empty accept
 * queue resets the queued connections: inet_csk_listen_stop). Node 18 compatible.
 */
import { Worker } from 'node:worker_threads';

/** The worker's code (CommonJS, run with `eval: true` so no extra file has to be deployed). */
const WORKER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const net = require('node:net');
const flag = new Int32Array(workerData.flag);
const server = net.createServer();
server.on('error', (err) => parentPort.postMessage({ type: 'error', code: err.code || 'EUNKNOWN', message: err.message }));
server.on('listening', () => {
  parentPort.postMessage({ type: 'listening', port: server.address().port });
  while (Atomics.load(flag, 0) === 0) Atomics.wait(flag, 0, 0);
  server.close();
});
server.listen({ port: workerData.port, host: workerData.host, backlog: workerData.backlog, exclusive: true });
`;

export interface QueuedListener {
  /** The bound port (useful when 0 was asked for). */
  port: number;
  /** Closes the listening socket (queued connections are reset by the kernel). */
  close(): Promise<void>;
}

export class ListenError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ListenError';
  }
}

/** Listens on host:port with the given backlog and never accepts. Rejects with ListenError (code = errno name). */
export function startQueuedListener(host: string, port: number, backlog: number): Promise<QueuedListener> {
  const flagBuffer = new SharedArrayBuffer(4);
  const flag = new Int32Array(flagBuffer);
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { flag: flagBuffer, host, port, backlog } });
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  const close = async (): Promise<void> => {
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
    await exited;
  };
  return new Promise<QueuedListener>((resolve, reject) => {
    worker.once('message', (message: { type: 'listening'; port: number } | { type: 'error'; code: string; message: string }) => {
      if (message.type === 'listening') {
        // The worker must not keep the agent alive on its own (exit and stdin EOF end the process).
        worker.unref();
        resolve({ port: message.port, close });
      } else {
        reject(new ListenError(message.code, message.message));
      }
    });
    worker.once('error', (err) => reject(new ListenError('EWORKER', `queued listener worker failed: ${err.message}`)));
    worker.once('exit', (code) => reject(new ListenError('EWORKER', `queued listener worker exited with code ${code} before listening`)));
  });
}
