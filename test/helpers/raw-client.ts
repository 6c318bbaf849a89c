/**
 * A keep-alive HTTP/1.1 client on one raw socket, for what fetch cannot do: send a request in
 * pieces, pipeline, wait for `100 Continue`, keep writing while the server drains, hang up
 * mid-body.
 */
import { connect, type Socket } from 'node:net';

export interface RawResponse {
  status: number;
  /** Names lower-cased. */
  headers: Record<string, string>;
  /** Decoded as latin1; empty for `100 Continue`. */
  body: string;
}

/** A keep-alive HTTP/1.1 client on one raw socket: sends, parses answers, and notes when the server closes. */
export class RawClient {
  readonly responses: RawResponse[] = [];
  closedByServer = false;
  private buffer = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  readonly closed: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.parse();
    });
    // Writes after the server closed fail with EPIPE/ECONNRESET: expected, that is the point.
    socket.on('error', () => {});
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.closedByServer = true;
        for (const wake of this.waiters.splice(0)) wake();
        resolve();
      }),
    );
  }

  static open(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  write(text: string): void {
    if (!this.socket.destroyed) this.socket.write(text);
  }

  get(path: string, headers: Record<string, string> = {}): void {
    const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
    this.write(`GET ${path} HTTP/1.1\r\nHost: latchkey.test\r\n${lines.join('')}\r\n`);
  }

  /** Resolves with the n-th response (0-based), or undefined when the socket closed first. */
  async response(n: number): Promise<RawResponse | undefined> {
    while (this.responses.length <= n && !this.closedByServer) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    return this.responses[n];
  }

  private parse(): void {
    for (;;) {
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const [statusLine = '', ...lines] = this.buffer.subarray(0, end).toString('latin1').split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      let rest = this.buffer.subarray(end + 4);
      let body = '';
      if (headers['transfer-encoding'] === 'chunked') {
        let offset = 0;
        for (;;) {
          const lineEnd = rest.indexOf('\r\n', offset);
          if (lineEnd < 0) return;
          const size = Number.parseInt(rest.subarray(offset, lineEnd).toString('latin1'), 16);
          if (rest.length < lineEnd + 2 + size + 2) return;
          body += rest.subarray(lineEnd + 2, lineEnd + 2 + size).toString('latin1');
          offset = lineEnd + 2 + size + 2;
          if (size === 0) break;
        }
        rest = rest.subarray(offset);
      } else {
        const length = Number(headers['content-length'] ?? 0);
        if (rest.length < length) return;
        body = rest.subarray(0, length).toString('latin1');
        rest = rest.subarray(length);
      }
      this.buffer = rest;
      this.responses.push({ status: Number(statusLine.split(' ')[1]), headers, body });
      for (const wake of this.waiters.splice(0)) wake();
    }
  }
}
