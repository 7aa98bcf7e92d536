// The UI in a real browser (Debian Chromium via playwright-core), served by a real kabinet-hub
// with its real encrypted store: hub staff sign in, register a person by ЕГН, record a visit
// with every screening, accept the suggested referrals, and find the person again by a Latin
// spelling of the Cyrillic name.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Hub, chromium, run } from './harness.mjs';

await run('browser: register by ЕГН, full visit, accept referral, find by Latin name', async (cleanup) => {
  const hub = new Hub();
  cleanup(() => hub.cleanup());
  hub.addUser('mpetrova', 'Мария Петрова', 'nurse', 'correct horse battery');
  await hub.start();
  cleanup(() => hub.stop());
  const { browser, page } = await chromium();
  cleanup(() => browser.close());
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));

  await page.goto(hub.url + '/');
  // Sign-in: a wrong password is refused in Bulgarian, the right one lets in.
  await page.fill('input[name=user]', 'mpetrova');
  await page.fill('input[name=secret]', 'wrong password');
  await page.click('[data-action=unlock]');
  await page.waitForSelector('[data-error=unlock]');
  assert.match(await page.textContent('[data-error=unlock]'), /грешно име или парола/);
  await page.fill('input[name=secret]', 'correct horse battery');
  await page.click('[data-action=unlock]');
  await page.waitForSelector('[data-nav=today]');
  assert.equal(await page.getAttribute('[data-sync-state]', 'data-sync-state'), 'hub');

  // Register by ЕГН: birth date and sex come from it.
  await page.click('[data-nav=find]');
  await page.click('[data-action=register]');
  await page.fill('input[name=given_name]', 'Росица');
  await page.fill('input[name=family_name]', 'Юсеинова');
  await page.fill('input[name=egn]', '7706245930');
  await page.waitForSelector('[data-derived=birth_date]');
  assert.match(await page.textContent('[data-derived=birth_date]'), /24\.06\.1977/);
  assert.match(await page.textContent('[data-derived=sex]'), /жена/);
  assert.equal(await page.textContent('[data-field=latin_name]'), 'Rositsa Yuseinova');
  // A wrong ЕГН check digit is named before saving.
  await page.fill('input[name=egn]', '7706245931');
  await page.locator('input[name=egn]').blur();
  await page.waitForSelector('[data-error=egn]');
  await page.fill('input[name=egn]', '7706245930');
  await page.check('input[name=consent_given]');
  await page.click('[data-action=save-person]');
  await page.waitForSelector('[data-section=hiv]');
  assert.equal(await page.textContent('[data-field=person-name]'), 'Росица Юсеинова');

  // The visit: HIV result only after consent and counselling.
  assert.equal(await page.isDisabled('input[name=hiv_result][value=reactive]'), true);
  await page.check('input[name=hiv_consent]');
  await page.check('input[name=hiv_counselled]');
  await page.check('input[name=hiv_result][value=reactive]');
  // A typo is named beside the field as it is typed.
  await page.fill('input[name=glucose]', '13,2x');
  await page.waitForSelector('[data-error="glucose.value"]');
  assert.match(await page.textContent('[data-error="glucose.value"]'), /не е число/);
  await page.fill('input[name=glucose]', '13,2');
  await page.fill('input[name=hba1c]', '8.1');
  await page.fill('input[name=systolic]', '182');
  await page.fill('input[name=diastolic]', '112');
  await page.fill('input[name=pulse]', '90');
  await page.fill('input[name=weight_kg]', '92');
  await page.fill('input[name=height_cm]', '170');
  await page.check('input[name=tb_cough]');
  await page.fill('input[name=tb_cough_weeks]', '3');
  await page.check('input[name=tb_night_sweats]');
  await page.check('input[name=hbsag][value=non-reactive]');
  await page.check('input[name=anti_hcv][value=non-reactive]');
  await page.waitForSelector('[data-accept="screening:hiv"]');
  assert.match(await page.textContent('[data-field=bmi]'), /31[.,]8/);
  assert.equal(await page.locator('[data-error]').count(), 0, 'no field errors left');
  // Accept the HIV referral; leave out the TB one to show the specialist decides.
  assert.equal(await page.isChecked('[data-accept="screening:hiv"]'), true);
  await page.uncheck('[data-accept="screening:tb_symptoms"]');
  const accepted = await page.locator('[data-accept]:checked').count();
  await page.click('[data-action=save-visit]');
  await page.waitForSelector('[data-ok=visit]');
  const codes = await page.locator('[data-code]').allTextContents();
  assert.equal(codes.length, accepted);
  for (const c of codes) assert.match(c, /^99-\d{5}-\d$/);

  // Print: the slips open as one PDF in the browser's viewer; qpdf checks it.
  const [popup] = await Promise.all([page.waitForEvent('popup'), page.click('[data-action=print-slips]')]);
  const bytes = await page.evaluate(async (url) => Array.from(new Uint8Array(await (await fetch(url)).arrayBuffer())), popup.url());
  await popup.close();
  const pdfPath = join(hub.dir, 'slips.pdf');
  writeFileSync(pdfPath, Buffer.from(bytes));
  execFileSync('qpdf', ['--check', pdfPath]);
  const slipText = execFileSync('pdftotext', [pdfPath, '-'], { encoding: 'utf8' });
  assert.match(slipText, /Росица Юсеинова/);
  assert.match(slipText, new RegExp(codes[0]));

  // Found again by a Latin spelling.
  await page.click('[data-nav=find]');
  await page.fill('[data-field=search]', 'rosica iuseinova');
  await page.waitForSelector('[data-list=hits] li');
  assert.match(await page.textContent('[data-list=hits] li'), /Росица Юсеинова/);
  await page.click('[data-list=hits] li a');
  await page.waitForSelector('[data-visit]');
  assert.equal(await page.textContent('[data-screening=hiv] strong'), 'реактивен');
  assert.equal(await page.locator('[data-screening]').count(), 8);
  assert.equal(await page.locator('[data-list=person-referrals] li').count(), codes.length);

  // Today lists the visit and the open referrals.
  await page.click('[data-nav=today]');
  await page.waitForSelector('[data-list=visits] li');
  assert.match(await page.textContent('[data-list=visits]'), /Росица Юсеинова/);
  assert.equal(await page.locator('[data-list=referrals] li').count(), codes.length);

  // The loop at the hub: the person shows the slip; staff find it by its code and record
  // attendance with the outcome.
  await page.click('[data-nav=referrals]');
  await page.fill('input[name=code]', codes[0].replaceAll('-', ' '));
  await page.press('input[name=code]', 'Enter');
  await page.waitForSelector('[data-status=attended]');
  assert.equal(await page.textContent('[data-field=code]'), codes[0]);
  await page.fill('textarea[name=note]', 'потвърдително изследване насрочено');
  await page.click('[data-status=attended]');
  await page.waitForSelector('[data-ok=status]');
  assert.equal(await page.textContent('[data-field=status]'), 'явил се');
  assert.match(await page.textContent('[data-history=attended]'), /насрочено/);
  // A mistyped code is caught by its check digit.
  await page.click('[data-nav=referrals]');
  const typo = codes[0].slice(0, -1) + ((Number(codes[0].slice(-1)) + 1) % 10);
  await page.fill('input[name=code]', typo);
  await page.press('input[name=code]', 'Enter');
  await page.waitForSelector('[data-error=code]');

  await page.click('[data-nav=today]');
  await page.waitForSelector('[data-list=referrals] li');
  const open = await page.locator('[data-list=referrals] li .code').allTextContents();
  assert.deepEqual(open.sort(), codes.slice(1).sort(), 'the attended one is no longer open');

  // English on demand.
  await page.click('button.lang');
  await page.waitForSelector('text=Visits of the day');
  assert.deepEqual(errors, []);
});
