/** Debian's Chromium driven by playwright-core (never a downloaded browser), one fresh profile per use. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface Browser {
  context: BrowserContext;
  /** The profile directory; it stays after close() for inspection until remove(). */
  profileDir: string;
  close(): Promise<void>;
  remove(): Promise<void>;
}

export interface LaunchOptions {
  /** Flags beyond the usual ones (e.g. the fake camera). */
  args?: string[];
  /** Permissions granted to every page (e.g. `camera`). */
  permissions?: string[];
  /** A phone: touch events and a mobile viewport. */
  phone?: boolean;
}

export async function launchChromium(viewport = { width: 1000, height: 900 }, options: LaunchOptions = {}): Promise<Browser> {
  const profileDir = await mkdtemp(path.join(tmpdir(), 'vsc-chromium-'));
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [...FLAGS, ...(options.args ?? [])],
    viewport,
    permissions: options.permissions ?? [],
    ...(options.phone ? { hasTouch: true, isMobile: true } : {}),
  });
  return {
    context,
    profileDir,
    close: () => context.close(),
    remove: () => rm(profileDir, { recursive: true, force: true }),
  };
}
