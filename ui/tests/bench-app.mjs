// Benchmark of the real app (release build) under Xvfb with a store of ~100,000 persons:
// cold start to an interactive Today screen, search-as-you-type and saving a visit end to end
// (webview → Tauri → store → back, timed inside the webview), and resident memory.
// Prints one JSON line; scripts/bench-app.sh writes the table into docs/benchmarks.md.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebDriver, tauriDriver, waitFor } from './harness.mjs';

const [appBin, storeFile, passphrase] = process.argv.slice(2);
const data = mkdtempSync(join(tmpdir(), 'kabinet-bench-app-'));
cpSync(storeFile, join(data, 'cabinet.db'));
// The users' keyring made beside the cached store (its one user, "bench", logs in).
cpSync(storeFile.replace(/\.db$/, '.keys.json'), join(data, 'cabinet.keys.json'));
// Flush the copy: otherwise the app's first fsync waits for the whole fresh 400 MB file to be
// written back (ext4 ordered mode), which no device in the van would ever see.
execFileSync('sync');

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
function rssKb(pid) {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}
function descendants(pid) {
  const out = [];
  for (const line of execFileSync('ps', ['-e', '-o', 'pid=,ppid=,comm='], { encoding: 'utf8' }).trim().split('\n')) {
    const [p, pp, ...c] = line.trim().split(/\s+/);
    if (Number(pp) === pid) out.push({ pid: Number(p), comm: c.join(' ') }, ...descendants(Number(p)));
  }
  return out;
}

const driver = await tauriDriver({ KABINET_APP_DATA: data });
const result = {};
try {
  const t0 = performance.now();
  const app = await WebDriver.start(driver.base, { 'tauri:options': { application: appBin } });
  await app.find('input[name=secret]', 30000);
  result.launch_to_unlock_ms = Math.round(performance.now() - t0);
  await app.exec("const s = document.querySelector('select[name=user]'); s.value = 'bench'; s.dispatchEvent(new Event('change'))");
  await app.type('input[name=secret]', passphrase);
  const t1 = performance.now();
  await app.click('[data-action=unlock]');
  try {
    await app.find('[data-list=visits]', 30000);
  } catch (e) {
    throw new Error(`${e.message}; the screen says: ${await app.exec('return document.body.innerText')}`);
  }
  await waitFor(async () => (await app.count('[data-list=referrals] li')) > 0 || true, 'today');
  result.unlock_to_today_ms = Math.round(performance.now() - t1);
  result.cold_start_ms = result.launch_to_unlock_ms + result.unlock_to_today_ms;

  // Search as you type: every prefix of a few names, as the box sends them.
  const timings = await app.cmd('POST', '/execute/async', {
    script: `const done = arguments[arguments.length - 1];
      (async () => {
        const inv = window.__TAURI__.core.invoke;
        const words = ['Юсеинова', 'Ivanov', 'Мария Пет', 'Stoyanova', 'Ахмед', 'Kostadinov', 'Щерев', 'Ruzhdi'];
        const out = [];
        for (const w of words) for (let i = 1; i <= w.length; i++) {
          const t = performance.now();
          await inv('api', { call: { lang: 'bg', op: 'search', args: { query: w.slice(0, i) } } });
          out.push(performance.now() - t);
        }
        done(out);
      })();`,
    args: [],
  });
  result.search_n = timings.length;
  result.search_p50_ms = +pct(timings, 50).toFixed(2);
  result.search_p99_ms = +pct(timings, 99).toFixed(2);

  // Saving a visit with screenings and two referrals, end to end.
  const saves = await app.cmd('POST', '/execute/async', {
    script: `const done = arguments[arguments.length - 1];
      (async () => {
        const inv = window.__TAURI__.core.invoke;
        const hits = await inv('api', { call: { op: 'search', args: { query: 'Юсеинова' } } });
        await new Promise((r) => setTimeout(r, Number(arguments[0]) || 0));
        const out = [];
        for (let i = 0; i < 60; i++) {
          const form = { hiv_result: 'non-reactive', hiv_consent: true, hiv_counselled: true, glucose: '7,9', fasting: 'fasting', systolic: '165', diastolic: '102', pulse: '80', weight_kg: '80', height_cm: '170', tb_screened: true };
          const t = performance.now();
          await inv('api', { call: { op: 'save_visit', args: { person_id: hits[i % hits.length].id, form, notes: '',
            referrals: [{ reason: 'screening:glucose', destination: 'hub-gp', urgency: 'priority' }, { reason: 'social', destination: 'hub-social-worker', urgency: 'routine' }] } } });
          out.push(performance.now() - t);
        }
        done(out);
      })();`,
    args: [process.env.SAVE_DELAY_MS || '0'],
  });
  result.save_slowest = saves.map((ms, i) => [i, Math.round(ms)]).sort((a, b) => b[1] - a[1]).slice(0, 3);
  result.save_p50_ms = +pct(saves, 50).toFixed(2);
  result.save_p99_ms = +pct(saves, 99).toFixed(2);

  const pid = Number(execFileSync('pgrep', ['-n', '-f', appBin], { encoding: 'utf8' }).trim());
  result.app_rss_mb = Math.round(rssKb(pid) / 1024);
  result.webkit_rss_mb = Math.round(descendants(pid).reduce((a, p) => a + rssKb(p.pid), 0) / 1024);
  await app.quit();
} finally {
  driver.stop();
  rmSync(data, { recursive: true, force: true });
}
console.log(JSON.stringify(result));
