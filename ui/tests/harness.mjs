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

  /** A user of `cabinets` (their devices receive them; `password` is the device PIN), or of
   * none (hub staff; `password` is the web password). */
  addUser(name, displayName, role, password, cabinets = []) {
    const args = ['users', 'add', name, '--display-name', displayName, '--role', role];
    for (const c of cabinets) args.push('--cabinet', c);
    this.cli(args, { KABINET_HUB_USER_PASSWORD: password });
  }

  enrollmentCode(cabinet) {
    const out = this.cli(['enroll', '--cabinet', cabinet, '--role', 'nurse', '--role', 'doctor']);
    // 1234-5678-9012, with the certificate's short fingerprint after it (-AB12-…) when the
    // hub has a certificate: the whole code, as the operator reads it out.
    const m = /(\d{4}-\d{4}-\d{4}(?:-[0-9A-F]{4})*)\s*$/.exec(out.trim());
    if (!m) throw new Error(`no code in: ${out}`);
    return m[1];
  }

  /** Starts the hub: the first time on a port the kernel picks (the hub says which on its
   * "listening on URL" line; guessing a free port first can lose it to another process),
   * again on the same one after a stop. */
  async start() {
    const listen = `127.0.0.1:${this.port ?? 0}`;
    this.proc = spawn(this.bin, ['serve', '--plain-http', '--listen', listen, '--ui-dir', join(UI_DIR, 'dist')], {
      env: this.env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const proc = this.proc;
    this.url = await new Promise((res, rej) => {
      let seen = '';
      const timer = setTimeout(() => rej(new Error('the hub did not say where it listens')), 30000);
      proc.once('exit', (code) => rej(new Error(`the hub exited (${code}) before listening`)));
      proc.stdout.on('data', (chunk) => {
        process.stdout.write(chunk);
        seen += chunk.toString();
        const m = /listening on (http\S+)/.exec(seen);
        if (m) {
          clearTimeout(timer);
          res(m[1]);
        }
      });
    });
    this.port = Number(new URL(this.url).port);
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
  const page = await context.newPage();
  openPages.add(page);
  // What the page said to its console and which hub calls failed, for a failure's report.
  page.on('console', (m) => pageLog.push(`console.${m.type()}: ${m.text()}`));
  page.on('response', (r) => {
    if (r.status() >= 400) pageLog.push(`HTTP ${r.status()} ${r.request().method()} ${new URL(r.url()).pathname}`);
  });
  page.on('close', () => openPages.delete(page));
  return { browser, page };
}

// Pages still open and what they logged: a failing step prints them, so a failure seen only
// in CI says what the screen showed instead of just which selector never came.
const openPages = new Set();
const pageLog = [];

async function reportPages() {
  for (const page of openPages) {
    try {
      const text = await page.evaluate(() => document.body.innerText);
      console.error(`  page ${page.url()} shows:\n${text.slice(0, 3000).replace(/^/gm, '    | ')}`);
    } catch (e) {
      console.error(`  page ${page.url()}: ${e}`);
    }
  }
  for (const line of pageLog.slice(-40)) console.error(`  ${line}`);
}

/** Hub staff sign out of the hub's web UI (playwright `page`) and `user` signs in, landing on `landing`. */
export async function switchHubUser(page, user, secret, landing) {
  await page.click('[data-action=lock]');
  // The sign-in form's own fields: a screen still on show may have a field of the same name
  // (the audit log filters by `user`), and typing there leaves the form empty.
  await page.waitForSelector('[data-form=unlock] input[name=user]');
  await page.fill('[data-form=unlock] input[name=user]', user);
  await page.fill('[data-form=unlock] input[name=secret]', secret);
  await page.click('[data-form=unlock] [data-action=unlock]');
  await page.waitForSelector(landing);
}

/** A tiny test runner: named steps, a clear failure, a non-zero exit. */
export async function run(name, body) {
  const started = Date.now();
  const cleanups = [];
  pageLog.length = 0;
  try {
    await body((fn) => cleanups.push(fn));
    console.log(`ok   ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  } catch (e) {
    console.error(`FAIL ${name}: ${e.stack || e}`);
    process.exitCode = 1;
    await reportPages();
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

/** A minimal W3C WebDriver client (enough for tauri-driver + WebKitWebDriver). */
export class WebDriver {
  constructor(base, session) {
    this.base = base;
    this.session = session;
  }

  static async start(base, capabilities) {
    const res = await fetch(`${base}/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ capabilities: { alwaysMatch: capabilities } }),
    });
    const body = await res.json();
    if (!res.ok) throw new Error(`new session: ${JSON.stringify(body)}`);
    return new WebDriver(base, body.value.sessionId);
  }

  async cmd(method, path, body) {
    const res = await fetch(`${this.base}/session/${this.session}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await res.json();
    if (!res.ok) throw new Error(`${method} ${path}: ${JSON.stringify(json.value ?? json)}`);
    return json.value;
  }

  async find(css, timeoutMs = 15000) {
    return waitFor(async () => {
      const v = await this.cmd('POST', '/element', { using: 'css selector', value: css });
      return Object.values(v)[0];
    }, css, timeoutMs);
  }

  async count(css) {
    const v = await this.cmd('POST', '/elements', { using: 'css selector', value: css });
    return v.length;
  }

  /** Clicks like a person: the element scrolled to the middle of the window first (the sticky
   * save bar covers the bottom), again if something moved over it meanwhile (a prompt that
   * appeared above pushes the form down). */
  async click(css) {
    await waitFor(async () => {
      const id = await this.find(css);
      await this.exec('document.querySelector(arguments[0])?.scrollIntoView({ block: "center" })', [css]);
      try {
        await this.cmd('POST', `/element/${id}/click`, {});
        return true;
      } catch (e) {
        if (/intercepted|not interactable/.test(e.message)) return false;
        throw e;
      }
    }, `a click on ${css}`, 10000);
  }

  async type(css, text) {
    const id = await this.find(css);
    await this.cmd('POST', `/element/${id}/clear`, {});
    await this.cmd('POST', `/element/${id}/value`, { text });
  }

  async text(css) {
    const id = await this.find(css);
    return this.cmd('GET', `/element/${id}/text`);
  }

  async attr(css, name) {
    const id = await this.find(css);
    return this.cmd('GET', `/element/${id}/attribute/${name}`);
  }

  async exec(script, args = []) {
    return this.cmd('POST', '/execute/sync', { script, args });
  }

  async screenshot() {
    return Buffer.from(await this.cmd('GET', '/screenshot'), 'base64');
  }

  async waitText(css, re, timeoutMs = 20000) {
    return waitFor(async () => {
      const t = await this.text(css);
      return re.test(t) ? t : null;
    }, `${css} to match ${re}`, timeoutMs);
  }

  async quit() {
    await fetch(`${this.base}/session/${this.session}`, { method: 'DELETE' }).catch(() => {});
  }
}

/** tauri-driver on a free port, with the app's environment; stops with its WebKitWebDriver. */
export async function tauriDriver(env) {
  const port = await freePort();
  const nativePort = await freePort();
  const bin = process.env.TAURI_DRIVER || join(homedir(), '.cargo', 'bin', 'tauri-driver');
  const proc = spawn(bin, ['--port', String(port), '--native-port', String(nativePort)], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
    detached: true,
  });
  const base = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${base}/status`)).ok, 'tauri-driver');
  return {
    base,
    stop: () => {
      // The driver's own children (WebKitWebDriver, the app) are in its process group.
      try {
        process.kill(-proc.pid, 'SIGTERM');
      } catch {}
    },
  };
}
