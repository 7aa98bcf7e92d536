// The real app: the built Tauri binary under Xvfb, driven by tauri-driver + WebKitWebDriver.
// First start connects the tablet to a hub with the operator's code; the hub's nurse and
// doctor arrive as the device's users. The nurse logs in with her PIN (a wrong one is refused
// with the tries left), then works offline: the hub is down while she registers a
// person and records a visit. When the hub is back, the app syncs by itself, the status turns
// "up to date", and the hub holds the visit. A half-typed visit survives an app restart.
// A case opened offline with a task reaches the hub too. When the hub admin disables her, the
// app locks at its next sync and refuses her; the doctor is locked out after a quiet spell.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hub, WebDriver, binary, run, tauriDriver, waitFor, ROOT } from './harness.mjs';

async function hubSearch(hub, query) {
  return hubCall(hub, 'search', { query });
}

async function hubCall(hub, op, args) {
  const login = await (await fetch(`${hub.url}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'checker', password: 'checker password' }),
  })).json();
  const res = await fetch(`${hub.url}/api/call`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${login.token}` },
    body: JSON.stringify({ op, args }),
  });
  return res.json();
}

await run('app: unlock, register and visit offline, sync when the hub is back', async (cleanup) => {
  const data = mkdtempSync(join(tmpdir(), 'kabinet-e2e-app-'));
  cleanup(() => rmSync(data, { recursive: true, force: true }));
  const hub = new Hub();
  cleanup(() => hub.cleanup());
  hub.addUser('checker', 'Проверител', 'hub_admin', 'checker password');
  hub.addUser('mpetrova', 'Мария Петрова', 'nurse', 'van pin 2026', ['cabinet-2']);
  hub.addUser('ivanov', 'Д-р Иван Иванов', 'doctor', 'doctor pin 1', ['cabinet-2']);
  await hub.start();
  cleanup(() => hub.stop());

  const driver = await tauriDriver({ KABINET_APP_DATA: data, KABINET_SYNC_INTERVAL_MS: '500', KABINET_NO_VIEWER: '1' });
  cleanup(() => driver.stop());
  let app = await WebDriver.start(driver.base, { 'tauri:options': { application: binary('kabinet-app') } });
  cleanup(() => app.quit());
  const shots = process.env.KABINET_SHOTS;
  const shot = async (name) => {
    if (!shots) return;
    mkdirSync(shots, { recursive: true });
    writeFileSync(join(shots, `${name}.png`), await app.screenshot());
  };

  // First start: connect to the hub; its users of this device's roles arrive.
  const code = hub.enrollmentCode('cabinet-2');
  await app.type('input[name=hub_url]', 'http://192.0.2.1:8750');
  await app.type('input[name=code]', code);
  await app.click('[data-action=unlock]');
  assert.match(await app.waitText('form', /само към този компютър/), /https:\/\//);
  await app.exec("document.querySelector('input[name=hub_url]').value = ''");
  await app.type('input[name=hub_url]', hub.url);
  await app.click('[data-action=unlock]');
  await app.find('select[name=user]');
  const options = await app.exec("return [...document.querySelectorAll('select[name=user] option')].map((o) => o.textContent)");
  assert.deepEqual(options.sort(), ['Д-р Иван Иванов · лекар', 'Мария Петрова · медицинска сестра'], 'the hub admin is not a user of this device');
  await shot('app-login');
  await login(app, 'mpetrova', 'van pin 2026');
  await waitFor(async () => (await app.attr('[data-sync-state]', 'data-sync-state')) === 'up_to_date', 'first sync');

  // Lock; a wrong PIN is refused with the tries left; the right one opens.
  await app.click('[data-action=lock]');
  await app.find('select[name=user]');
  await choose(app, 'mpetrova');
  await app.type('input[name=secret]', 'wrong pin 0');
  await app.click('[data-action=unlock]');
  assert.match(await app.waitText('[data-field-error=secret]', /Грешна парола/), /остават 5 опита/);
  await shot('app-unlock-wrong');
  await login(app, 'mpetrova', 'van pin 2026');

  // The van drives out of range.
  await hub.stop();
  await waitFor(async () => (await app.attr('[data-sync-state]', 'data-sync-state')) === 'offline', 'offline state');

  // Register a person without documents and record a visit, offline.
  await app.click('[data-nav=find]');
  await app.type('[data-field=search]', 'Асен Асенов');
  await app.waitText('.find', /Няма намерени хора/);
  await app.click('[data-action=register]');
  await app.find('input[name=given_name]');
  await app.click('input[name=no_documents]');
  await app.click('input[name=sex][value=M]');
  await app.type('input[name=birth_year]', '1990');
  await app.type('input[name=neighbourhood]', 'Изток');
  await app.click('[data-action=save-person]');
  await app.find('[data-section=hiv]');
  const personId = (await app.exec('return location.hash')).split('/').pop();

  // A half-typed visit survives closing the app: the draft lives in the encrypted store.
  await app.type('input[name=glucose]', '6,1');
  await app.type('input[name=pulse]', '77');
  await new Promise((r) => setTimeout(r, 800));
  await app.quit();
  app = await WebDriver.start(driver.base, { 'tauri:options': { application: binary('kabinet-app') } });
  await login(app, 'mpetrova', 'van pin 2026');
  await app.exec(`location.hash = '#/visit/${personId}'`);
  await waitFor(async () => (await app.exec("return document.querySelector('input[name=glucose]')?.value")) === '6,1', 'the draft after a restart');
  assert.equal(await app.exec("return document.querySelector('input[name=pulse]').value"), '77');

  // The emergency tier end to end, offline: a very high pressure with a neurological sign.
  await app.click('input[name=fasting][value=random]');
  await app.type('input[name=systolic]', '185');
  await app.type('input[name=diastolic]', '115');
  await app.find('[data-prompt=measure_bp_again]');
  await app.click('input[name=neurological]');
  await app.waitText('[data-emergency]', /112/);
  await app.find('[data-accept="screening:blood_pressure"]');
  await shot('app-visit-offline');
  await app.click('[data-action=save-visit]');
  const savedCode = await app.text('[data-code]');
  assert.match(savedCode, /^\d{2}-\d{5}-\d$/);
  // Printing works offline: the button makes the PDF (the viewer is not opened in tests).
  await app.click('[data-action=print-slips]');
  const slips = await waitFor(() => {
    const dir = join(data, 'slips');
    return existsSync(dir) && readdirSync(dir).map((f) => join(dir, f))[0];
  }, 'the slips PDF');
  execFileSync('qpdf', ['--check', slips]);
  const slipText = execFileSync('pdftotext', [slips, '-'], { encoding: 'utf8' });
  assert.match(slipText, /Асен Асенов/);
  assert.match(slipText, /СПЕШНО — 112/);
  assert.equal(await app.count('[role=alert]'), 0);

  // A correction offline: the phone he gave now. Only the phone changes; no reason is asked.
  await app.exec(`location.hash = '#/person/${personId}'`);
  await app.click('[data-action=edit-person]');
  await waitFor(async () => (await app.exec("return document.querySelector('input[name=given_name]')?.value")) === 'Асен', 'the form filled from the record');
  await app.type('input[name=phone]', '0888 777 666');
  assert.equal(await app.count('input[name=reason]'), 0, 'a phone needs no reason');
  await app.click('[data-action=save-person]');
  await app.find('[data-list=corrections]');
  assert.match(await app.text('.person .facts'), /\+359888777666/);
  await waitFor(async () => (await app.attr('[data-sync-state]', 'data-sync-state')) === 'offline', 'still offline');
  assert.match(await app.text('.syncbar .detail'), /чакащи промени/);

  // Case work in the field, offline: a case for him with a task for the mediators.
  await app.click('[data-action=open-case]');
  await app.find('[data-section=tasks]');
  await app.type('input[name=task_title]', 'придружаване до ДСП');
  await app.click('[data-action=add-task]');
  await app.find('[data-list=tasks] [data-task]');

  // The cabinet's own report, offline: today's person counted; no file leaves the tablet,
  // and the share of visits synced in time is the hub's to tell, not the device's.
  await app.click('[data-nav=report]');
  assert.match(await app.waitText('[data-report=headline] [data-indicator="reach.persons"] .big', /\d/), /^\s*1\s*$/);
  assert.equal(await app.count('[data-action=report-pdf], [data-action=report-csv]'), 0);
  assert.equal(await app.count('[data-indicator="quality.synced_48h"]'), 0);
  assert.equal(await app.count('[data-indicator="quality.consent"]'), 1);

  // Back in range: the app syncs by itself and says so.
  await hub.start();
  await waitFor(async () => (await app.attr('[data-sync-state]', 'data-sync-state')) === 'up_to_date', 'sync after the hub is back', 30000);
  assert.match(await app.text('[data-sync-title]'), /Синхронизирано/);
  assert.doesNotMatch(await app.text('.syncbar .detail'), /чакащи/);
  await shot('app-synced');

  const hits = await hubSearch(hub, 'asen asenov');
  assert.equal(hits.length, 1, JSON.stringify(hits));
  assert.equal(hits[0].full_name, 'Асен Асенов');
  assert.equal(hits[0].phone, '+359888777666', 'the correction made offline reached the hub');
  const cases = await hubCall(hub, 'cases', { status: 'open' });
  assert.equal(cases.length, 1, JSON.stringify(cases));
  assert.equal(cases[0].person_name, 'Асен Асенов', 'the case opened offline reached the hub');
  const team = await hubCall(hub, 'team_tasks', {});
  assert.equal(team[0].title, 'придружаване до ДСП');

  // The hub admin disables her: at the next sync the app locks and refuses her.
  hub.cli(['users', 'disable', 'mpetrova']);
  await app.click('[data-action=sync-now]');
  assert.match(await app.waitText('[data-lock-reason]', /деактивиран/, 30000), /заключено/);
  const left = await app.exec("return [...document.querySelectorAll('select[name=user] option')].map((o) => o.textContent)");
  assert.deepEqual(left, ['Д-р Иван Иванов · лекар'], 'a disabled user cannot be chosen any more');
  await app.quit();
  await driver.stop();

  // A quiet spell locks the app (the shell enforces it too, not only the page).
  const quiet = await tauriDriver({ KABINET_APP_DATA: data, KABINET_IDLE_LOCK_MS: '2500', KABINET_NO_VIEWER: '1' });
  cleanup(() => quiet.stop());
  app = await WebDriver.start(quiet.base, { 'tauri:options': { application: binary('kabinet-app') } });
  await login(app, 'ivanov', 'doctor pin 1');
  assert.match(await app.waitText('[data-lock-reason]', /неактивност/, 15000), /влезте отново/);
});

async function choose(app, user) {
  await app.find('select[name=user]');
  await app.exec(`const s = document.querySelector('select[name=user]'); s.value = ${JSON.stringify(user)}; s.dispatchEvent(new Event('change'))`);
}

async function login(app, user, secret) {
  await choose(app, user);
  assert.equal(await app.exec("return document.querySelector('select[name=user]').value"), user);
  await app.type('input[name=secret]', secret);
  await app.click('[data-action=unlock]');
  try {
    await app.find('[data-nav=today]');
  } catch (e) {
    // Seen once in CI and never again in 12 runs: the login screen stayed. Say what it showed,
    // then try once more, so the rest of the run still tests what it is for.
    const shown = await app.exec('return document.body.innerText');
    // What the form held when the click did nothing (seen twice: the earlier error still
    // shown, so the submit never ran): an emptied PIN field would block it as `required`, a
    // disabled button would swallow the click.
    const form = await app.exec(
      "const i = document.querySelector('input[name=secret]'); const b = document.querySelector('[data-action=unlock]'); " +
        "return JSON.stringify({ secret_length: i ? i.value.length : null, valid: i ? i.checkValidity() : null, button_disabled: b ? b.disabled : null, focused: document.activeElement && document.activeElement.name })",
    );
    console.error(`WARNING: logging in as ${user} did not reach Today (${e.message}); the form: ${form}; the screen:\n${shown}`);
    await choose(app, user);
    await app.type('input[name=secret]', secret);
    await app.click('[data-action=unlock]');
    await app.find('[data-nav=today]');
  }
}
void ROOT;
