// A real `edgebench server` and agents on loopback for the browser tests and the screenshots:
// start() returns {url, adminToken, dir, startAgent(name, args), stop()}.
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const readline = require('readline');

const binary = process.env.EDGEBENCH_BINARY || path.join(__dirname, '..', '..', 'build', 'src', 'cli', 'edgebench');
const cacheDir = process.env.EDGEBENCH_CACHE_DIR || path.join(os.homedir(), '.cache', 'edgebench');

function zooModel(name, format) {
  return path.join(cacheDir, 'zoo', name, `${name}.${format}`);
}

async function start() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgebench-web-'));
  const data = path.join(dir, 'data');
  const children = [];
  const server = spawn(binary, ['server', '--listen', '127.0.0.1:0', '--data', data],
    { stdio: ['ignore', 'pipe', fs.openSync(path.join(dir, 'server.log'), 'w')] });
  children.push(server);
  // The server prints "listening on URL" as its first line.
  const line = await new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: server.stdout });
    lines.once('line', resolve);
    server.once('exit', (code) => reject(new Error(`the server exited (${code}): ${fs.readFileSync(path.join(dir, 'server.log'), 'utf8')}`)));
  });
  if (!line.startsWith('listening on ')) throw new Error(`the server said: ${line}`);
  const url = line.slice('listening on '.length);
  const adminToken = fs.readFileSync(path.join(data, 'admin.token'), 'utf8').trim();
  return {
    url, adminToken, dir,
    startAgent(name, args = []) {
      const agent = spawn(binary, ['agent', '--server', url, '--name', name, '--token-file', path.join(data, 'agent.token'),
        '--cache-dir', path.join(dir, `cache-${name}`), '--poll-seconds', '2', ...args],
      { stdio: ['ignore', 'ignore', fs.openSync(path.join(dir, `agent-${name}.log`), 'w')] });
      children.push(agent);
      return agent;
    },
    // The /v1 API with the admin token.
    async api(method, route, body) {
      const response = await fetch(url + route, {
        method, headers: { Authorization: `Bearer ${adminToken}`, 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const data = await response.json();
      if (!response.ok) throw new Error(`${method} ${route}: ${response.status} ${data.error}`);
      return data;
    },
    async stop() {
      for (const child of children.reverse()) {
        if (child.exitCode !== null) continue;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

// Settings that make a benchmark quick.
const QUICK = { min_runs: 5, warmup_runs: 1, warmup_min_ms: 0, min_duration_ms: 0 };

module.exports = { start, zooModel, QUICK, binary };
