/**
 * Node's own refusals answered like ours. Node's HTTP layer refuses a request itself when its
 * headers or the whole request outlast HEADERS_TIMEOUT_SECONDS / REQUEST_TIMEOUT_SECONDS, when the
 * header section is too large, or when the bytes are not HTTP; by default it writes a bare status
 * line and destroys the socket at once, so a client still sending gets a reset instead. Here the
 * server's documented 'clientError' event answers with a problem document, `Connection: close`,
 * and the same lingering close as every other refusal, and counts it on /metrics.
 */
import http, { type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Request, Response } from 'express';
import type { Counter } from 'prom-client';
import { AppError } from '../kernel/errors.ts';
import type { LingeringClose } from './middleware/lingering-close.ts';
import { problemDocument, sendProblem } from './middleware/problem.ts';
import { CSP_DIRECTIVES, cspHeader } from './middleware/security-headers.ts';

export interface ProtocolRefusalDeps {
  lingering: LingeringClose;
  refusals: Counter<'status' | 'reason'>;
  timeouts: { headersMs: number; requestMs: number };
}

/** A refusal: the problem to answer and the reason label it is counted under. */
interface Refusal {
  error: AppError;
  reason: 'headers_timeout' | 'request_timeout' | 'header_overflow' | 'chunk_extensions_overflow' | 'ended_early' | 'parse_error';
}

/**
 * Serves `app` on `server` and answers Node's refusals on it. The request listener is installed
 * here because a connection already refused must not have a request served after all (headers
 * that complete after their 408, say), and because the refusal of a request in flight goes
 * through its own response.
 */
export function serveWithProtocolRefusals(server: http.Server, app: RequestListener, deps: ProtocolRefusalDeps): void {
  const inFlight = new WeakMap<Socket, { req: IncomingMessage; res: ServerResponse }>();
  const refused = new WeakSet<Socket>();
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    // Already answered and closing: what still arrives is discarded, nothing is served.
    if (refused.has(req.socket)) return void req.resume();
    inFlight.set(req.socket, { req, res });
    res.once('close', () => {
      if (inFlight.get(req.socket)?.res === res) inFlight.delete(req.socket);
    });
    app(req, res);
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    // Node reports again what follows a refusal (more bytes, the client's EOF); the first answer stands.
    if (refused.has(socket)) return;
    const served = inFlight.get(socket);
    // A request read to its end is not what failed: the bytes after it (a pipelined request) are, and its own answer goes first.
    const current = served?.req.complete ? undefined : served;
    const refusal = refusalOf(err, current !== undefined, deps.timeouts);
    // A reset or broken pipe is not a refusal: nothing to answer to.
    if (!refusal || !socket.writable) return void socket.destroy();
    if (current?.res.headersSent) {
      // A response under way cannot be followed by another; one already closing lingers on its own bounds.
      if (!deps.lingering.holds(socket)) socket.destroy();
      return;
    }
    refused.add(socket);
    deps.refusals.inc({ status: refusal.error.status, reason: refusal.reason });
    if (current) {
      // The request's headers were read: its own response answers, in the caller's language, like the body-rate cut-off.
      deps.lingering.arm(current.req as Request, current.res as Response);
      return sendProblem(current.res as Response, refusal.error);
    }
    if (served && !served.res.writableFinished) {
      served.res.once('finish', () => (socket.writable ? deps.lingering.refuseRaw(socket, rawAnswer(refusal.error)) : socket.destroy()));
      served.res.once('close', () => served.res.writableFinished || socket.destroy());
      return;
    }
    deps.lingering.refuseRaw(socket, rawAnswer(refusal.error));
  });
}

/** What Node refused, as our problem; undefined for socket errors that are no refusal (ECONNRESET, EPIPE). */
function refusalOf(err: NodeJS.ErrnoException, requestInFlight: boolean, timeouts: ProtocolRefusalDeps['timeouts']): Refusal | undefined {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT' && requestInFlight) {
    const seconds = timeouts.requestMs / 1000;
    return {
      reason: 'request_timeout',
      error: new AppError('request_timeout', {
        detail: {
          de: `Die Anfrage kam nicht innerhalb von ${seconds} s vollständig an (REQUEST_TIMEOUT_SECONDS) und wurde abgebrochen. Senden Sie große Dateien über den fortsetzbaren Upload (/v1/uploads), in Teilen, die jeweils rechtzeitig ankommen.`,
          en: `The request did not arrive completely within ${seconds} s (REQUEST_TIMEOUT_SECONDS) and was cut off. Send large files through the resumable upload (/v1/uploads), in chunks that each arrive in time.`,
        },
      }),
    };
  }
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    const seconds = timeouts.headersMs / 1000;
    return {
      reason: 'headers_timeout',
      error: new AppError('request_timeout', {
        detail: {
          de: `Die Header der Anfrage kamen nicht innerhalb von ${seconds} s vollständig an (HEADERS_TIMEOUT_SECONDS); die Verbindung wird geschlossen. Senden Sie die Anfrage erneut.`,
          en: `The request's headers did not arrive completely within ${seconds} s (HEADERS_TIMEOUT_SECONDS); the connection is closed. Send the request again.`,
        },
      }),
    };
  }
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    return {
      reason: 'header_overflow',
      error: new AppError('header_fields_too_large', {
        detail: {
          de: `Die Header der Anfrage sind zusammen größer als ${http.maxHeaderSize} Bytes. Senden Sie weniger oder kürzere Header.`,
          en: `The request's headers are larger than ${http.maxHeaderSize} bytes together. Send fewer or shorter headers.`,
        },
        extra: { limit: http.maxHeaderSize },
      }),
    };
  }
  if (err.code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW') {
    return {
      reason: 'chunk_extensions_overflow',
      error: new AppError('payload_too_large', {
        detail: { de: 'Die Chunk-Erweiterungen des Request-Bodys sind zu groß. Senden Sie Chunks ohne Erweiterungen.', en: "The request body's chunk extensions are too large. Send chunks without extensions." },
      }),
    };
  }
  if (err.code === 'HPE_INVALID_EOF_STATE') {
    return {
      reason: 'ended_early',
      error: new AppError('bad_request', {
        detail: { de: 'Die Verbindung wurde mitten in der Anfrage beendet; die Anfrage ist unvollständig. Senden Sie sie erneut.', en: 'The connection was ended in the middle of the request; the request is incomplete. Send it again.' },
      }),
    };
  }
  if (err.code?.startsWith('HPE_')) {
    return {
      reason: 'parse_error',
      error: new AppError('bad_request', {
        detail: {
          de: `Die Anfrage ist kein gültiges HTTP/1.1 (${err.code}); die Verbindung wird geschlossen. Prüfen Sie Request-Zeile, Header und Body-Framing.`,
          en: `The request is not valid HTTP/1.1 (${err.code}); the connection is closed. Check the request line, headers and body framing.`,
        },
      }),
    };
  }
  return undefined;
}

/**
 * The whole response, written to the socket itself (no response object exists yet). Always German:
 * the header section is unfinished, unparseable or too large, so none of it counts as headers, and
 * Accept-Language neither (Node hands over at most the last chunk it parsed, never the whole section).
 */
function rawAnswer(err: AppError): Buffer {
  const body = Buffer.from(JSON.stringify(problemDocument(err, 'de')), 'utf8');
  const head = [
    `HTTP/1.1 ${err.status} ${http.STATUS_CODES[err.status] ?? ''}`,
    `Date: ${new Date().toUTCString()}`,
    'Content-Type: application/problem+json; charset=utf-8',
    'Content-Language: de',
    `Content-Length: ${body.length}`,
    'Connection: close',
    'Cache-Control: no-store',
    'X-Content-Type-Options: nosniff',
    `Content-Security-Policy: ${cspHeader(CSP_DIRECTIVES)}`,
  ];
  return Buffer.concat([Buffer.from(`${head.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
}
