import helmet from 'helmet';
import type { RequestHandler } from 'express';

/** The content security policy of every response; the workspace adds its OpenID provider to connect-src. */
export const CSP_DIRECTIVES = {
  defaultSrc: ["'none'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'", 'blob:'],
  connectSrc: ["'self'"],
  fontSrc: ["'self'"],
  baseUri: ["'none'"],
  formAction: ["'none'"],
  frameAncestors: ["'none'"],
} as const;

/** The header value of `directives` (camelCase names as helmet takes them). */
export function cspHeader(directives: Record<string, readonly string[]>): string {
  return Object.entries(directives)
    .map(([name, values]) => `${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} ${values.join(' ')}`)
    .join(';');
}

/**
 * Strict defaults for every response: nothing cached, nothing framed, scripts only from self.
 * HSTS only when the public URL is https: over plain http the header is meaningless (RFC 6797 §8.1).
 */
export function securityHeaders(options: { hsts: boolean }): RequestHandler[] {
  return [
    helmet({
      strictTransportSecurity: options.hsts,
      contentSecurityPolicy: {
        useDefaults: false,
        directives: CSP_DIRECTIVES,
      },
      referrerPolicy: { policy: 'no-referrer' },
      crossOriginResourcePolicy: { policy: 'same-origin' },
    }),
    (_req, res, next) => {
      res.setHeader('Cache-Control', 'no-store');
      res.setHeader('Pragma', 'no-cache');
      res.setHeader(
        'Permissions-Policy',
        'camera=(), microphone=(), geolocation=(), payment=(), usb=(), clipboard-read=(), clipboard-write=(), display-capture=(), fullscreen=(self)',
      );
      next();
    },
  ];
}
