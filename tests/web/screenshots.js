// Screenshots of every dashboard page at desktop and phone width, from a real server and agent
// (tools/screenshots.sh runs it): node tests/web/screenshots.js OUT_DIR
const fs = require('fs');
const path = require('path');
const { chromium } = require('@playwright/test');
const { start, zooModel, QUICK } = require('./service');

const out = process.argv[2];
const SIZES = { desktop: { width: 1280, height: 900 }, phone: { width: 390, height: 844 } };

async function upload(service, file) {
  const response = await fetch(`${service.url}/v1/models?name=${path.basename(file)}`, {
    method: 'POST', headers: { Authorization: `Bearer ${service.adminToken}` }, body: fs.readFileSync(file) });
  return (await response.json()).sha256;
}

async function waitFor(check) {
  for (;;) {
    const value = await check();
    if (value) return value;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

(async () => {
  fs.mkdirSync(out, { recursive: true });
  const service = await start();
  try {
    service.startAgent('lab-pc', ['--label', 'board=x86', '--label', 'site=lab']);
    await waitFor(async () => (await service.api('GET', '/v1/devices')).devices.length > 0);
    const models = ['mobilenetv2', 'squeezenet11', 'tinycnn'];
    const shas = [];
    for (const m of models) shas.push(await upload(service, zooModel(m, 'onnx')));
    // A profiled result (operator shares, fusion map), a job on two runtimes, one INVALID figure.
    const profiled = await service.api('POST', '/v1/tasks', { model_sha256: shas[0], runtime: 'onnxruntime', device: 'lab-pc',
      settings: { ...QUICK, min_runs: 50, threads: 1, profile_runs: 10 } });
    const job = await service.api('POST', '/v1/jobs', { models: shas, runtimes: ['onnxruntime', 'null'], devices: ['lab-pc'],
      settings: { ...QUICK, min_runs: 30, threads: 1 } });
    const invalid = await service.api('POST', '/v1/tasks', { model_sha256: shas[1], runtime: 'onnxruntime', device: 'lab-pc',
      settings: { ...QUICK, min_runs: 1000, max_duration_ms: 200, threads: 1 } });
    await waitFor(async () => (await service.api('GET', `/v1/jobs/${job.id}`)).state !== 'running' &&
      (await service.api('GET', `/v1/tasks/${invalid.id}`)).has_result);
    const other = job.tasks.find((t) => t.runtime === 'onnxruntime' && t.model_sha256 === shas[0]).id;
    const pages = {
      login: '/', devices: '/#/devices', tasks: '/#/tasks', result: `/#/tasks/${profiled.id}`, jobs: '/#/jobs',
      job: `/#/jobs/${job.id}`, compare: `/#/compare/${profiled.id}/${other}`, submit: '/#/submit',
    };
    const browser = await chromium.launch({ executablePath: process.env.EDGEBENCH_CHROMIUM || '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-dev-shm-usage'] });
    for (const [size, viewport] of Object.entries(SIZES)) {
      const page = await browser.newPage({ viewport, deviceScaleFactor: 1 });
      for (const [name, route] of Object.entries(pages)) {
        if (name === 'login') {
          await page.goto(service.url + route);
          await page.evaluate(() => sessionStorage.clear());
          await page.reload();
          await page.getByLabel('token').waitFor();
        } else {
          await page.evaluate((token) => sessionStorage.setItem('edgebench.token', token), service.adminToken);
          await page.goto(service.url + route);
          await page.locator('main h1').first().waitFor();
          await page.waitForTimeout(300);  // the charts' layout
        }
        const file = path.join(out, `${name}-${size}.png`);
        await page.screenshot({ path: file, fullPage: true });
        console.log(file);
      }
      await page.close();
    }
    await browser.close();
  } finally {
    await service.stop();
  }
})().catch((error) => { console.error(error); process.exit(1); });
