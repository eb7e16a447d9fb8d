// Drives the bgtasks dashboard in headless Chromium (playwright-core, Debian's chromium).
// Run by crates/admin/tests/browser.rs, which starts the server and seeds the jobs:
//   DASHBOARD_URL, OPERATOR_TOKEN, READ_TOKEN, SCREENSHOT_DIR, CHROMIUM
// Every step waits for what a person would see; the first failure exits non-zero.

import { chromium } from 'playwright-core';
import path from 'node:path';

const { DASHBOARD_URL, OPERATOR_TOKEN, READ_TOKEN, SCREENSHOT_DIR, CHROMIUM } = process.env;
for (const [name, value] of Object.entries({ DASHBOARD_URL, OPERATOR_TOKEN, READ_TOKEN, SCREENSHOT_DIR, CHROMIUM })) {
  if (!value) throw new Error(`${name} is not set`);
}

const errors = [];
let page;

function log(message) {
  console.log(`[browser] ${message}`);
}

async function shot(name) {
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`) });
  log(`screenshot ${name}.png`);
}

function assert(condition, message) {
  if (!condition) throw new Error(`assertion failed: ${message}`);
}

/** Calls the API from outside the page (another operator, say). */
async function api(method, apiPath) {
  const response = await fetch(new URL(`api/${apiPath}`, DASHBOARD_URL), {
    method,
    headers: { Authorization: `Bearer ${OPERATOR_TOKEN}` },
  });
  assert(response.ok, `${method} ${apiPath} answered ${response.status}`);
  return response.json();
}

const rows = () => page.locator('[data-test=jobs-body] tr[data-job-id]');
const headerStatus = (code) => page.locator(`[data-test=job-status] [data-status="${code}"]`);

async function waitForRows(count) {
  await page.waitForFunction(
    (n) => document.querySelectorAll('[data-test=jobs-body] tr[data-job-id]').length === n,
    count,
  );
}

async function confirm() {
  await page.locator('[data-test=confirm-dialog] [data-test=confirm]').click();
}

async function run() {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const context = await browser.newContext({
      viewport: { width: 1400, height: 900 },
      locale: 'en-US',
      timezoneId: 'UTC',
    });
    context.setDefaultTimeout(30000);
    page = await context.newPage();
    page.on('pageerror', (error) => errors.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error' && !/401|Unauthorized/.test(message.text())) {
        errors.push(`console: ${message.text()}`);
      }
    });

    log('sign in: a wrong token is refused, the right one opens the jobs');
    await page.goto(DASHBOARD_URL);
    await page.locator('[data-test=token]').fill('not-the-token');
    await page.locator('[data-test=sign-in]').click();
    await page.locator('.login .form-error:not([hidden])').waitFor();
    await page.locator('[data-test=token]').fill(OPERATOR_TOKEN);
    await page.locator('[data-test=sign-in]').click();
    await page.locator('[data-test=jobs-table]').waitFor();
    await page.locator('[data-test=role]', { hasText: 'Operator' }).waitFor();
    await page.evaluate(() => { window.__sameDocument = true; });
    await waitForRows(11);
    await shot('01-jobs');

    log('filter: group billing');
    await page.locator('[data-test=filter-group]').fill('billing');
    await page.locator('[data-test=filter-group]').press('Enter');
    await waitForRows(5);
    assert(page.url().includes('group=billing'), 'the filter is in the URL');
    log('filter: status chip Stopped within billing');
    await page.locator('[data-test=chip-30]').click();
    await waitForRows(1);
    assert(await rows().first().getAttribute('data-job-id') === 'void-invoice', 'the stopped invoice');
    await page.locator('[data-test=chip-30]').click();
    await waitForRows(5);
    await shot('02-jobs-filtered');

    log('pause a job from its page and watch the status change without a reload');
    await page.locator('[data-test=filter-group]').fill('');
    await page.locator('[data-test=filter-group]').press('Enter');
    await page.locator('[data-test=filter-text]').fill('catalogue');
    await waitForRows(1);
    await page.locator('[data-test=job-link]').first().click();
    await headerStatus(5).waitFor();
    await page.locator('[data-test=op-pause]').click();
    await confirm();
    await headerStatus(20).waitFor();
    await page.locator('[data-test=op-resume]').waitFor();
    log('another operator resumes it through the API: the page follows by itself');
    await api('PUT', 'background-jobs/sync-partner/resume');
    await headerStatus(5).waitFor({ timeout: 15000 });
    log('trigger it: it runs now, although it begins in an hour');
    await page.locator('[data-test=op-trigger]').click();
    await confirm();
    await headerStatus(0).waitFor();
    await page.locator('[data-test=trigger-count]', { hasText: '1' }).waitFor();
    await page.locator('[data-test=run-history] tr[data-log-id]').first().waitFor();
    assert(await page.evaluate(() => window.__sameDocument === true), 'the page was never reloaded');
    await shot('03-job');

    log('bulk-pause everything the filter matches (page size 2, then "select all matching")');
    await page.evaluate(() => { location.hash = '#/jobs?group=billing&size=2'; });
    await waitForRows(2);
    await page.locator('[data-test=select-page]').check();
    await page.locator('[data-test=select-all-matching]').click();
    await page.locator('[data-test=selection-count]', { hasText: '5' }).waitFor();
    await page.locator('[data-test=bulk-pause]').click();
    await page.locator('[data-test=confirm-dialog]', { hasText: '5' }).waitFor();
    await confirm();
    const report = page.locator('[data-test=bulk-report]');
    await report.waitFor();
    assert((await report.textContent()).includes('void-invoice'), 'the refused job is named');
    await shot('04-bulk');
    await report.locator('[data-test=dialog-close]').click();
    await page.evaluate(() => { location.hash = '#/jobs?group=billing&status=20'; });
    await waitForRows(4);

    log('open a run log with an error');
    await page.evaluate(() => { location.hash = '#/jobs/void-invoice'; });
    await headerStatus(30).waitFor();
    await page.locator('[data-test=action]', { hasText: 'billing@example.com' }).waitFor();
    assert(!(await page.content()).includes('hunter2'), 'no secret on the page');
    await page.locator('[data-test=run-history] tr.has-error').first().click();
    const logDialog = page.locator('[data-test=log-dialog]');
    await logDialog.waitFor();
    await logDialog.locator('[data-test=log-exception]', { hasText: 'invoice 7 is void' }).waitFor();
    await shot('05-run-log');
    await logDialog.locator('[data-test=close-log]').click();

    log('statistics and nodes');
    await page.locator('[data-test=nav-stats]').click();
    await page.locator('[data-test=stats-window]').selectOption('1');
    await page.locator('[data-test=chart-throughput] svg rect.bar').first().waitFor();
    await page.locator('[data-test=orphaned-warning]:not([hidden])').waitFor();
    await page.waitForTimeout(2500);
    await shot('06-statistics');
    await page.locator('[data-test=nav-nodes]').click();
    await page.locator('[data-test=node][data-node="admin-test-node"]').waitFor();
    await page.locator('[data-test=orphaned-jobs]', { hasText: 'legacy-export' }).waitFor();
    await shot('07-nodes');

    log('create a job, then edit its name (conditioned on the revision shown)');
    await page.locator('[data-test=nav-jobs]').click();
    await page.locator('[data-test=new-job]').click();
    const form = page.locator('[data-test=new-job-dialog]');
    await form.locator('[data-test=new-id]').fill('created-in-browser');
    await form.locator('[data-test=new-name]').fill('Made in the dashboard');
    await form.locator('[data-test=new-type]').selectOption('ok');
    await form.locator('[data-test=create]').click();
    await page.locator('h1', { hasText: 'Made in the dashboard' }).waitFor();
    assert(page.url().includes('#/jobs/created-in-browser'), 'the new job\'s page is open');
    await page.locator('[data-test=op-edit]').click();
    await page.locator('[data-test=edit-name]').fill('Renamed in the dashboard');
    await page.locator('[data-test=edit-dialog] [data-test=save]').click();
    await page.locator('h1', { hasText: 'Renamed in the dashboard' }).waitFor();

    log('switch to zh-Hans');
    await page.locator('[data-test=nav-jobs]').click();
    await page.locator('[data-test=locale]').selectOption('zh-Hans');
    await page.locator('[data-test=nav-jobs]', { hasText: '任务' }).waitFor();
    await page.locator('[data-test=jobs-table] th', { hasText: '状态' }).first().waitFor();
    await page.evaluate(() => { location.hash = '#/jobs'; });
    await waitForRows(12);
    await page.evaluate(() => document.getElementById('toasts').replaceChildren());
    await shot('08-jobs-zh-Hans');
    await page.evaluate(() => { location.hash = '#/jobs/void-invoice'; });
    await page.locator('h2', { hasText: '运行历史' }).waitFor();
    await shot('09-job-zh-Hans');
    assert(await page.evaluate(() => window.__sameDocument === true), 'the page was never reloaded');

    log('a read-only token sees everything and can change nothing');
    const reader = await (await browser.newContext({ viewport: { width: 1400, height: 900 }, locale: 'en-US' })).newPage();
    reader.on('pageerror', (error) => errors.push(`page error (reader): ${error.message}`));
    await reader.goto(DASHBOARD_URL);
    await reader.locator('[data-test=token]').fill(READ_TOKEN);
    await reader.locator('[data-test=sign-in]').click();
    await reader.locator('[data-test=role]', { hasText: 'Read-only' }).waitFor();
    await reader.waitForFunction(() => document.querySelectorAll('[data-test=jobs-body] tr[data-job-id]').length === 12);
    assert(await reader.locator('[data-test=new-job]').count() === 0, 'no "new job" for a reader');
    assert(await reader.locator('[data-test=select-page]').count() === 0, 'no selection for a reader');
    assert(await reader.locator('[data-test=row-pause]').count() === 0, 'no row operations for a reader');
    await reader.evaluate(() => { location.hash = '#/jobs/void-invoice'; });
    await reader.locator('[data-test=run-history] tr[data-log-id]').first().waitFor();
    assert(await reader.locator('[data-test^=op-]').count() === 0, 'no operations for a reader');

    assert(errors.length === 0, `the page reported errors:\n${errors.join('\n')}`);
    log('all steps passed');
  } catch (error) {
    if (page) {
      await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'failure.png') }).catch(() => {});
      console.error(`[browser] the page at the failure: ${path.join(SCREENSHOT_DIR, 'failure.png')}`);
    }
    throw error;
  } finally {
    await browser.close();
  }
}

run().catch((error) => {
  console.error(`[browser] FAILED: ${error.stack || error}`);
  if (errors.length) console.error(errors.join('\n'));
  process.exit(1);
});
