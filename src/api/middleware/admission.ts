import type { Request, RequestHandler, Response } from 'express';
import { AppError, type Localized } from '../../kernel/errors.ts';
import { principalIfAny } from './auth.ts';
import type { LingeringClose } from './lingering-close.ts';
import { sendProblem } from './problem.ts';

export interface AdmissionOptions {
  /** Requests with a body in flight at once, over all callers (captures, tus, small JSON bodies alike). */
  slots: number;
  /** Of those, at most this many for one caller, so one user cannot starve the rest. */
  perCaller: number;
  /** Bytes those requests may hold in memory at once: inline bodies and the uploads a capture references. */
  bytes: number;
  /** A body arriving slower than this over a whole window is cut off with 408 and its slot released; unset for requests without a body. */
  minBytesPerSecond?: number;
  windowMs?: number;
  /** The answers when all slots, or the caller's share, are taken; default: the uploads' 503. */
  refusals?: Refusals;
}

/** What a refused request is told: the whole service is full, or this caller has its share. */
export interface Refusals {
  all(): AppError;
  caller(perCaller: number): AppError;
}

const uploadRefusals: Refusals = {
  all: () => busy({
    de: 'Gerade werden zu viele Uploads empfangen; versuchen Sie es nach der in Retry-After genannten Zeit erneut.',
    en: 'Too many uploads are being received right now; retry after the time in Retry-After.',
  }),
  caller: (perCaller) => busy({
    de: `Sie haben schon ${perCaller} Uploads in Arbeit; warten Sie, bis einer fertig ist, und versuchen Sie es dann erneut.`,
    en: `You already have ${perCaller} uploads in progress; wait for one to finish, then retry.`,
  }),
};

interface Ticket {
  caller: string;
  bytes: number;
}

/**
 * The admission counter of a class of requests (bodies; page renders): a slot per request until its
 * response closes, a per-caller share of the slots, a byte budget, and a minimum body rate.
 */
export class Admission {
  private slotsTaken = 0;
  private bytesHeld = 0;
  private readonly byCaller = new Map<string, number>();
  private readonly tickets = new WeakMap<Request, Ticket>();

  /** `lingering` closes a cut-off connection without resetting the 408 away. */
  constructor(
    private readonly options: AdmissionOptions,
    private readonly lingering: LingeringClose,
  ) {}

  get inFlight(): number {
    return this.slotsTaken;
  }

  get heldBytes(): number {
    return this.bytesHeld;
  }

  /**
   * Admits the request or refuses it (`refusals`); `held` says how many bytes of its body it keeps in
   * memory (default: Content-Length), `caller` whose share it counts against (default: the bearer's subject).
   */
  admit(held: (req: Request) => number = contentLength, caller: (req: Request) => string = callerOf): RequestHandler {
    const refusals = this.options.refusals ?? uploadRefusals;
    return (req, res, next) => {
      const who = caller(req);
      if (this.slotsTaken >= this.options.slots) return next(refusals.all());
      if ((this.byCaller.get(who) ?? 0) >= this.options.perCaller) return next(refusals.caller(this.options.perCaller));
      const ticket: Ticket = { caller: who, bytes: 0 };
      this.take(ticket);
      this.tickets.set(req, ticket);
      res.once('close', () => this.release(ticket));
      try {
        this.reserve(req, held(req));
      } catch (err) {
        return next(err);
      }
      const { minBytesPerSecond, windowMs } = this.options;
      if (minBytesPerSecond !== undefined && windowMs !== undefined) watchBodyRate(req, res, { minBytesPerSecond, windowMs }, this.lingering);
      next();
    };
  }

  /** Counts `bytes` more against the request's admission (e.g. the uploads a capture references), or refuses them. */
  reserve(req: Request, bytes: number): void {
    const ticket = this.tickets.get(req);
    if (!ticket) throw new Error('reserve() on a request that was not admitted');
    if (bytes <= 0) return;
    if (ticket.bytes + bytes > this.options.bytes) {
      throw new AppError('payload_too_large', {
        detail: {
          de: `Diese Anfrage würde ${ticket.bytes + bytes} Bytes belegen; höchstens ${this.options.bytes} werden auf einmal angenommen (MAX_BUFFERED_BYTES). Senden Sie weniger oder kleinere Dateien je Erfassung.`,
          en: `This request would hold ${ticket.bytes + bytes} bytes; at most ${this.options.bytes} are accepted at once (MAX_BUFFERED_BYTES). Send fewer or smaller files per capture.`,
        },
        extra: { limit: this.options.bytes },
      });
    }
    if (this.bytesHeld + bytes > this.options.bytes) {
      throw busy({
        de: 'Gerade werden zu viele Bytes empfangen; versuchen Sie es nach der in Retry-After genannten Zeit erneut.',
        en: 'Too many bytes are being received right now; retry after the time in Retry-After.',
      });
    }
    ticket.bytes += bytes;
    this.bytesHeld += bytes;
  }

  private take(ticket: Ticket): void {
    this.slotsTaken++;
    this.byCaller.set(ticket.caller, (this.byCaller.get(ticket.caller) ?? 0) + 1);
  }

  private release(ticket: Ticket): void {
    this.slotsTaken--;
    this.bytesHeld -= ticket.bytes;
    const left = (this.byCaller.get(ticket.caller) ?? 1) - 1;
    if (left > 0) this.byCaller.set(ticket.caller, left);
    else this.byCaller.delete(ticket.caller);
  }
}

function contentLength(req: Request): number {
  const length = Number(req.headers['content-length']);
  return Number.isSafeInteger(length) && length > 0 ? length : 0;
}

/** The authenticated subject; before authentication (the dev token route) the peer address. */
export function callerOf(req: Request): string {
  const principal = principalIfAny(req);
  return principal ? `sub:${principal.sub}` : `addr:${req.socket.remoteAddress ?? ''}`;
}

function busy(detail: Localized): AppError {
  return new AppError('busy', { detail });
}

/**
 * Cuts a body that arrives slower than the minimum rate over a whole window (a stalled or trickling
 * client holding a slot). A window in which our side applied backpressure does not count.
 */
function watchBodyRate(req: Request, res: Response, options: { minBytesPerSecond: number; windowMs: number }, lingering: LingeringClose): void {
  const minBytes = (options.minBytesPerSecond * options.windowMs) / 1000;
  let seen = req.socket.bytesRead;
  const timer = setInterval(() => {
    if (req.complete || res.headersSent) return clearInterval(timer);
    const now = req.socket.bytesRead;
    const heldBack = req.readableLength >= req.readableHighWaterMark;
    if (now - seen < minBytes && !heldBack) {
      clearInterval(timer);
      return cutOff(req, res, options.minBytesPerSecond, lingering);
    }
    seen = now;
  }, options.windowMs);
  timer.unref();
  res.once('close', () => clearInterval(timer));
}

function cutOff(req: Request, res: Response, minBytesPerSecond: number, lingering: LingeringClose): void {
  // The rest of the body is not wanted: the connection closes after the 408, lingering so it is read first.
  lingering.arm(req, res);
  sendProblem(
    res,
    new AppError('request_timeout', {
      detail: {
        de: `Der Request-Body kam langsamer als ${minBytesPerSecond} Bytes pro Sekunde an und wurde abgebrochen. Versuchen Sie es über eine bessere Verbindung erneut; fortsetzbare Uploads (/v1/uploads) machen dort weiter, wo sie unterbrochen wurden.`,
        en: `The request body arrived slower than ${minBytesPerSecond} bytes per second and was cut off. Retry on a better connection; resumable uploads (/v1/uploads) continue where they stopped.`,
      },
    }),
  );
}
