/** The no-trace headers every response of the service carries to a browser (viewer and workspace alike). */
import type { Page, Response } from 'playwright-core';
import { expect } from 'vitest';

export interface SeenResponse {
  url: string;
  headers: Record<string, string>;
}

/** Every response the page receives from `base`, with its headers. */
export function recordResponses(page: Page, base: string): SeenResponse[] {
  const seen: SeenResponse[] = [];
  page.on('response', (res: Response) => void (res.url().startsWith(base) && seen.push({ url: res.url(), headers: res.headers() })));
  return seen;
}

export function expectStrictHeaders(seen: SeenResponse[]): void {
  for (const s of seen) {
    expect(s.headers['cache-control'], s.url).toBe('no-store');
    expect(s.headers['content-security-policy'], s.url).toContain("frame-ancestors 'none'");
    expect(s.headers['content-security-policy'], s.url).toContain("script-src 'self'");
    expect(s.headers['referrer-policy'], s.url).toBe('no-referrer');
    expect(s.headers['x-content-type-options'], s.url).toBe('nosniff');
    expect(s.headers['content-encoding'], s.url).toBeUndefined();
  }
}
