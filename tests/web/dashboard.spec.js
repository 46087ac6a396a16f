// The dashboard end to end in Debian's chromium: a real server and a native agent on loopback;
// sign in, see the device register, submit a model from the page, watch the task finish, open
// its result, the job's latency matrix, a comparison, and a bad token refused.
const { test, expect } = require('@playwright/test');
const fs = require('fs');
const { start, zooModel, QUICK } = require('./service');

const MODEL = zooModel('tinycnn', 'onnx');
let service;

test.beforeAll(async () => {
  if (!fs.existsSync(MODEL)) throw new Error(`${MODEL} is missing (tools/setup.sh generates the zoo)`);
  service = await start();
});

test.afterAll(async () => {
  if (service) await service.stop();
});

async function signIn(page, token) {
  await page.goto(service.url + '/');
  await page.getByLabel('token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

test('a bad token is refused', async ({ page }) => {
  await signIn(page, 'not-a-token');
  await expect(page.getByRole('alert')).toHaveText('refused: invalid token');
  await expect(page.locator('#nav')).toBeHidden();
});

test('device registers, a model is submitted from the page, its result opens', async ({ page }) => {
  await signIn(page, service.adminToken);
  await expect(page.getByRole('heading', { name: 'Devices (0)' })).toBeVisible();
  // The token stays in the tab's session only.
  expect(await page.evaluate(() => sessionStorage.getItem('edgebench.token'))).toBe(service.adminToken);
  expect(await page.evaluate(() => localStorage.length)).toBe(0);

  service.startAgent('web1', ['--label', 'board=ci']);
  // Live update: the device appears without a reload.
  const row = page.getByRole('row', { name: /web1/ });
  await expect(row).toBeVisible();
  await expect(row.getByText('online')).toBeVisible();
  await expect(row.getByText('board=ci')).toBeVisible();

  await page.getByRole('link', { name: 'Submit' }).click();
  await page.getByLabel('model file').setInputFiles(MODEL);
  await page.getByLabel('runtime').selectOption('null');
  await page.getByLabel('device (or label=value)').fill('web1');
  await page.getByLabel('min runs').fill('5');
  await page.getByLabel(/other settings/).fill(JSON.stringify({ warmup_runs: 1, warmup_min_ms: 0, min_duration_ms: 0 }));
  await page.getByRole('button', { name: 'Submit' }).click();

  await expect(page).toHaveURL(/#\/tasks\/\d+$/);
  const taskId = page.url().match(/#\/tasks\/(\d+)$/)[1];
  await expect(page.getByRole('heading', { name: `Task #${taskId} succeeded` })).toBeVisible({ timeout: 90000 });
  await expect(page.getByRole('heading', { name: 'Latency distribution' })).toBeVisible();
  await expect(page.locator('svg[aria-label="latency distribution"] rect.bar').first()).toBeVisible();
  await expect(page.getByRole('heading', { name: /^Verdict/ })).toBeVisible();
  await expect(page.getByText('timed runs')).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Environment' })).toBeVisible();
  await expect(page.getByText('tinycnn.onnx').first()).toBeVisible();

  // The tasks page lists it by model name; the state filter keeps it.
  await page.getByRole('link', { name: 'Tasks' }).click();
  await page.getByLabel('state').selectOption('succeeded');
  await expect(page.getByRole('row', { name: new RegExp(`#${taskId} tinycnn.onnx null web1 succeeded`) })).toBeVisible();
  await page.getByLabel('state').selectOption('failed');
  await expect(page.getByRole('row', { name: new RegExp(`#${taskId} `) })).toHaveCount(0);

  // A job: its latency matrix, marks explained.
  const sha = (await service.api('GET', `/v1/tasks/${taskId}`)).model_sha256;
  const job = await service.api('POST', '/v1/jobs', { models: [sha], runtimes: ['null'], devices: ['web1'], settings: QUICK });
  await page.goto(`${service.url}/#/jobs/${job.id}`);
  await expect(page.getByRole('heading', { name: `Job #${job.id} succeeded` })).toBeVisible({ timeout: 90000 });
  await expect(page.locator('table.matrix').getByRole('cell', { name: 'tinycnn' })).toBeVisible();
  await page.getByRole('link', { name: 'Jobs' }).click();
  await expect(page.getByRole('row', { name: new RegExp(`#${job.id} succeeded`) })).toBeVisible();

  // Two results side by side.
  const other = job.tasks[0].id;
  await page.goto(`${service.url}/#/compare/${taskId}/${other}`);
  await expect(page.getByRole('heading', { name: `Task #${taskId} vs #${other}` })).toBeVisible();
  await expect(page.getByRole('row', { name: /^median/ })).toBeVisible();
  await expect(page.locator('svg[aria-label="latency distribution"]')).toHaveCount(2);

  // Signing out forgets the token.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  expect(await page.evaluate(() => sessionStorage.getItem('edgebench.token'))).toBeNull();
});

test('the page is readable at phone width', async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await signIn(page, service.adminToken);
  await expect(page.getByRole('heading', { name: /Devices/ })).toBeVisible();
  // Nothing but the tables' own scrolling areas is wider than the screen.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
});
