// Playwright settings of the dashboard's browser tests (tests/web/run.sh runs them): Debian's
// chromium, one worker (each test file starts its own server and agent), no retries.
const { defineConfig } = require('@playwright/test');

module.exports = defineConfig({
  testDir: __dirname,
  testMatch: '*.spec.js',
  workers: 1,
  retries: 0,
  timeout: 180000,
  expect: { timeout: 30000 },
  reporter: [['list']],
  outputDir: process.env.EDGEBENCH_WEB_TEST_OUT || '/tmp/edgebench-web-test-results',
  use: {
    browserName: 'chromium',
    launchOptions: {
      executablePath: process.env.EDGEBENCH_CHROMIUM || '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-dev-shm-usage'],
    },
    viewport: { width: 1280, height: 800 },
  },
});
