/**
 * Headless Chromium (Debian's /usr/bin/chromium, installed by .ci/run) driven by playwright-core,
 * for tests of the pages ontime writes. Every launch gets a fresh profile directory and no
 * background traffic of the browser's own, so a request the test sees came from the page.
 * Without the browser the tests are skipped locally and fail under CI.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { isCI } from './databases.js';

export const CHROMIUM = '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Why browser tests cannot run here, or null when they can. Under CI a missing browser is a failure. */
export function browserMissing(): string | null {
  if (existsSync(CHROMIUM)) return null;
  if (isCI) throw new Error(`${CHROMIUM} is missing: .ci/run installs Debian's chromium`);
  return `${CHROMIUM} is not installed (apt-get install -y chromium)`;
}

export async function launchBrowser(options: { colorScheme?: 'light' | 'dark' } = {}): Promise<BrowserContext> {
  const { chromium } = await import('playwright-core');
  return chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'ontime-chromium-')), {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    colorScheme: options.colorScheme ?? 'light',
    viewport: { width: 1400, height: 900 },
  });
}
