import type { Socket } from 'node:net';
import type { Request, Response } from 'express';

export interface LingerBounds {
  /** Longest a refused connection stays open after its answer, for the client to read it (Apache lingers 2 s). */
  timeMs: number;
  /** Body bytes discarded meanwhile; past them reading stops and TCP flow control holds the sender. */
  maxBytes: number;
}

export const LINGER_BOUNDS: LingerBounds = { timeMs: 2000, maxBytes: 64 * 1024 };

/**
 * Refuses a request whose body is still arriving without resetting the answer away. Closing a
 * socket with unread bytes makes the kernel send a TCP RST, and a client that is still sending then
 * loses the response it has not read yet. So, like nginx's lingering_close: `Connection: close`, the
 * answer, our FIN, then whatever keeps arriving is discarded until the body ends, the client closes,
 * or a bound is reached; only then is the socket destroyed.
 */
export class LingeringClose {
  private open = 0;
  private readonly held = new WeakSet<Socket>();

  constructor(private readonly bounds: LingerBounds = LINGER_BOUNDS) {}

  /** Connections closing after a refusal right now (for /metrics). */
  get lingering(): number {
    return this.open;
  }

  /** Call before sending the refusal of a request whose body may still be arriving (see bodyPending). */
  arm(req: Request, res: Response): void {
    res.setHeader('Connection', 'close');
    // From the answer on, the body is nobody's: a parser still reading it (multer, tus) gets no more.
    req.unpipe();
    req.removeAllListeners('readable');
    req.removeAllListeners('data');
    let discarded = 0;
    req.on('data', (chunk: Buffer) => {
      discarded += chunk.length;
      if (discarded > this.bounds.maxBytes) req.pause();
    });
    req.resume();
    this.held.add(req.socket);
    // Node ends the last response of a connection with destroySoon(): FIN, then destroy at once, unread bytes and all.
    // No documented hook runs between a response's end and that call (clientError reports only parse errors and timeouts), so it is replaced.
    req.socket.destroySoon = () => this.linger(req.socket, req);
  }

  /** Whether `socket` was armed or answered by `refuseRaw`: it closes on its own, bounded, and must not be reset. */
  holds(socket: Socket): boolean {
    return this.held.has(socket);
  }

  /**
   * Writes `answer` on a connection that no request owns (a refusal of Node's parser or timeouts)
   * and closes it lingering; what still arrives is discarded here, counted off the socket itself.
   */
  refuseRaw(socket: Socket, answer: Buffer): void {
    this.held.add(socket);
    let discarded = 0;
    socket.on('data', (chunk: Buffer) => {
      discarded += chunk.length;
      if (discarded > this.bounds.maxBytes) socket.pause();
    });
    socket.write(answer);
    this.linger(socket);
  }

  /** FIN, then destroy once the client has closed, the body (if any) has ended, or the time bound has passed. */
  private linger(socket: Socket, body?: Request): void {
    if (socket.destroyed) return;
    this.open++;
    socket.end();
    // Destroying before our FIN and answer are flushed would cut them off; after it, nothing is lost.
    const close = () => (socket.writableFinished ? socket.destroy() : socket.once('finish', () => socket.destroy()));
    const timer = setTimeout(() => socket.destroy(), this.bounds.timeMs);
    socket.once('close', () => {
      clearTimeout(timer);
      this.open--;
    });
    // A client that half-closed first (its FIN before ours) has nothing left to discard.
    if (socket.readableEnded) close();
    else socket.once('end', close);
    if (body?.complete) close();
    else body?.once('end', close);
  }
}

/** Whether the request announced a body that has not fully arrived: answering it now needs a lingering close. */
export function bodyPending(req: Request): boolean {
  if (req.complete) return false;
  return Number(req.headers['content-length']) > 0 || req.headers['transfer-encoding'] !== undefined;
}
