// Real parts for the end-to-end tests: a kabinet-hub process on loopback with its own data
// directory, staff users and enrollment codes made with its CLI, and Debian's Chromium.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, homedir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const UI_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const ROOT = resolve(UI_DIR, '..');
const TARGET = process.env.CARGO_TARGET_DIR || join(homedir(), '.cache', 'kabinet-target');

export function binary(name) {
  const path = join(TARGET, 'debug', name);
  if (!existsSync(path)) throw new Error(`${path} is missing: build it first (cargo build -p ...)`);
  return path;
}

export async function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.unref();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

export async function waitFor(check, what, timeoutMs = 30000) {
  const until = Date.now() + timeoutMs;
  let last;
  while (Date.now() < until) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
}

const HUB_KEY = 'e2e hub passphrase';

export class Hub {
  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'kabinet-e2e-hub-'));
    this.bin = binary('kabinet-hub');
    this.env = { ...process.env, KABINET_HUB_KEY: HUB_KEY, KABINET_HUB_DATA: this.dir, KABINET_HUB_LOG: 'warn' };
  }

  cli(args, extraEnv = {}) {
    return execFileSync(this.bin, args, { env: { ...this.env, ...extraEnv }, encoding: 'utf8' });
  }

  addUser(name, displayName, role, password) {
    this.cli(['users', 'add', name, '--display-name', displayName, '--role', role], { KABINET_HUB_USER_PASSWORD: password });
  }

  enrollmentCode(cabinet) {
    const out = this.cli(['enroll', '--cabinet', cabinet]);
    const m = /(\d{4}-\d{4}-\d{4})\s*$/.exec(out.trim());
    if (!m) throw new Error(`no code in: ${out}`);
    return m[1];
  }

  async start() {
    this.port = this.port ?? (await freePort());
    this.url = `http://127.0.0.1:${this.port}`;
    this.proc = spawn(this.bin, ['serve', '--listen', `127.0.0.1:${this.port}`, '--ui-dir', join(UI_DIR, 'dist')], {
      env: this.env,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    await waitFor(async () => (await fetch(`${this.url}/health`)).ok, 'the hub to answer /health');
    return this;
  }

  async stop() {
    if (!this.proc) return;
    const p = this.proc;
    this.proc = null;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (p.exitCode === null) p.kill('SIGKILL');
  }

  cleanup() {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function chromium(viewport = { width: 1280, height: 800 }) {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
  const context = await browser.newContext({ viewport, locale: 'bg-BG', timezoneId: 'Europe/Sofia' });
  return { browser, page: await context.newPage() };
}

/** A tiny test runner: named steps, a clear failure, a non-zero exit. */
export async function run(name, body) {
  const started = Date.now();
  const cleanups = [];
  try {
    await body((fn) => cleanups.push(fn));
    console.log(`ok   ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  } catch (e) {
    console.error(`FAIL ${name}: ${e.stack || e}`);
    process.exitCode = 1;
  } finally {
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch (e) {
        console.error(`cleanup: ${e}`);
      }
    }
  }
}
