// Regenerates docs/screenshots/: the main screens at 1280×800 (landscape tablet/laptop) and
// 800×1280 (portrait tablet), in Bulgarian, with the shared 300-visit workload synced from a
// cabinet (kabinet CLI) into a real hub and shown by the UI in Chromium.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hub, ROOT, binary, chromium, run, switchHubUser } from './harness.mjs';

const OUT = join(ROOT, 'docs', 'screenshots');

await run('screenshots', async (cleanup) => {
  const hub = new Hub();
  cleanup(() => hub.cleanup());
  hub.addUser('mpetrova', 'Мария Петрова', 'nurse', 'correct horse battery');
  hub.addUser('akostova', 'Анна Костова', 'hub_admin', 'admin staple battery');
  hub.addUser('ivanov', 'Д-р Иван Иванов', 'doctor', 'doctor battery 1');
  hub.addUser('pmanova', 'Петя Манова', 'programme_manager', 'manager staple battery');
  await hub.start();
  cleanup(() => hub.stop());

  // A cabinet with a day of visits, synced to the hub.
  const dev = mkdtempSync(join(tmpdir(), 'kabinet-shots-'));
  cleanup(() => rmSync(dev, { recursive: true, force: true }));
  const env = { ...process.env, KABINET_DB: join(dev, 'cabinet.db'), KABINET_KEY: 'screenshot passphrase' };
  const kabinet = (...args) => execFileSync(binary('kabinet'), args, { env, encoding: 'utf8' });
  kabinet('init', '--cabinet', 'cabinet-1', '--issuer', '1');
  kabinet('import', join(ROOT, 'tests', 'fixtures', 'workload-300.jsonl'), '--skip-invalid-screenings');
  kabinet('enroll', '--hub', hub.url, '--code', hub.enrollmentCode('cabinet-1'), '--name', 'tablet-1');
  kabinet('sync');

  mkdirSync(OUT, { recursive: true });
  for (const [w, h] of [[1280, 800], [800, 1280]]) {
    const { browser, page } = await chromium({ width: w, height: h });
    const snap = (name, fullPage = false) => page.screenshot({ path: join(OUT, `${name}-${w}x${h}.png`), fullPage });
    await page.goto(hub.url + '/');
    await page.fill('input[name=user]', 'mpetrova');
    await snap('unlock');
    await page.fill('input[name=secret]', 'correct horse battery');
    await page.click('[data-action=unlock]');
    await page.waitForSelector('[data-nav=today]');
    await page.goto(`${hub.url}/#/today?day=2026-03-02`);
    await page.waitForSelector('[data-list=visits] li');
    await snap('today');
    await page.click('[data-nav=find]');
    await page.fill('[data-field=search]', 'iuseinova');
    await page.waitForSelector('[data-list=hits] li');
    await snap('find');
    await page.click('[data-list=hits] li a');
    await page.waitForSelector('[data-visit]');
    await snap('person', true);
    await page.click('[data-action=new-visit]');
    await page.check('input[name=hiv_consent]');
    await page.check('input[name=hiv_counselled]');
    await page.check('input[name=hiv_result][value=non_reactive]');
    await page.fill('input[name=glucose]', '12,4');
    await page.check('input[name=fasting][value=random]');
    await page.fill('input[name=systolic]', '168');
    await page.fill('input[name=diastolic]', '104');
    await page.fill('input[name=weight_kg]', '88');
    await page.fill('input[name=height_cm]', '164');
    await page.waitForSelector('[data-accept]');
    await snap('visit', true);
    await page.goto(`${hub.url}/#/register?q=${encodeURIComponent('Росица Юсеинова')}`);
    await page.fill('input[name=birth_year]', '1977');
    await page.waitForSelector('[data-list=duplicates]');
    await snap('register-duplicate');
    // The hub admin's screens: users and the audit log (the nurse's views above are on it).
    await switchHubUser(page, 'akostova', 'admin staple battery', '[data-nav=admin-users]');
    await page.click('[data-nav=admin-users]');
    await page.waitForSelector('[data-user-row]');
    await snap('admin-users', true);
    await page.click('[data-nav=admin-audit]');
    await page.waitForSelector('[data-list=audit] tr');
    await snap('admin-audit');
    // The programme manager's report of the cabinet's year (the workload's visits are in 2026).
    await switchHubUser(page, 'pmanova', 'manager staple battery', '[data-report=headline]');
    await page.goto(`${hub.url}/#/report?from=2026-01-01&to=2026-12-31`);
    await page.waitForFunction(() => document.querySelector('[data-report=headline]')?.textContent.includes('300'));
    await snap('report', true);
    await page.click('[data-action=lock]');
    await browser.close();
  }
  console.log(`screenshots in ${OUT}`);
});
