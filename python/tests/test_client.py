"""The Python client against a real `edgebench server` and `edgebench agent` on loopback.

EDGEBENCH_BINARY names the binary (default: build/src/cli/edgebench of the repository),
EDGEBENCH_CACHE_DIR the cache with the model zoo (default: ~/.cache/edgebench).
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import edgebench  # noqa: E402

REPO = os.path.dirname(os.path.dirname(HERE))
BINARY = os.environ.get("EDGEBENCH_BINARY", os.path.join(REPO, "build", "src", "cli", "edgebench"))
CACHE = os.environ.get("EDGEBENCH_CACHE_DIR", os.path.expanduser("~/.cache/edgebench"))
MODEL = os.path.join(CACHE, "zoo", "tinycnn", "tinycnn.onnx")
# Quick benchmarks: the null runtime, few runs, no minimum durations.
QUICK = {"min_runs": 5, "warmup_runs": 1, "warmup_min_ms": 0, "min_duration_ms": 0}


class ServiceTest(unittest.TestCase):
    """One server and one agent ('py1', null runtime) for all tests of the class."""

    @classmethod
    def setUpClass(cls):
        if not os.path.exists(MODEL):
            raise unittest.SkipTest("{} is missing (tools/setup.sh generates the zoo)".format(MODEL))
        cls.dir = tempfile.mkdtemp(prefix="edgebench-python-")
        data = os.path.join(cls.dir, "data")
        cls.server_log = open(os.path.join(cls.dir, "server.log"), "w")
        cls.server = subprocess.Popen([BINARY, "server", "--listen", "127.0.0.1:0", "--data", data],
                                      stdout=subprocess.PIPE, stderr=cls.server_log, text=True)
        line = cls.server.stdout.readline().strip()
        if not line.startswith("listening on "):
            cls.tearDownClass()
            raise RuntimeError("the server said {!r}".format(line))
        cls.url = line[len("listening on "):]
        with open(os.path.join(data, "admin.token")) as f:
            cls.token = f.read().strip()
        with open(os.path.join(data, "agent.token")) as f:
            cls.registration_token = f.read().strip()
        cls.agent_log = open(os.path.join(cls.dir, "agent.log"), "w")
        cls.agent = subprocess.Popen([BINARY, "agent", "--server", cls.url, "--name", "py1", "--token-file",
                                      os.path.join(data, "agent.token"), "--cache-dir", os.path.join(cls.dir, "cache"),
                                      "--poll-seconds", "2"], stdout=cls.agent_log, stderr=subprocess.STDOUT)
        cls.client = edgebench.Client(cls.url, cls.token)
        deadline = time.monotonic() + 30
        while not any(d["name"] == "py1" for d in cls.client.devices()):
            if time.monotonic() > deadline or cls.agent.poll() is not None:
                cls.tearDownClass()
                raise RuntimeError("the agent did not register")
            time.sleep(0.1)

    @classmethod
    def tearDownClass(cls):
        for process in (getattr(cls, "agent", None), getattr(cls, "server", None)):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(timeout=20)
        if getattr(cls, "server", None) is not None:
            cls.server.stdout.close()
        for log in (getattr(cls, "agent_log", None), getattr(cls, "server_log", None)):
            if log is not None:
                log.close()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_submit_waits_for_the_result(self):
        seen = []
        task = self.client.submit(MODEL, runtime="null", device="py1", **QUICK)
        self.assertIsInstance(task.id, int)
        self.assertIs(task.wait(timeout=120, poll_seconds=0.2, progress=lambda t: seen.append(t["state"])), task)
        self.assertEqual(task.state, "succeeded")
        self.assertEqual(seen[-1], "succeeded")
        result = task.result()
        self.assertEqual(result["schema"], "edgebench.result/1")
        self.assertEqual(result["runs"], 5)
        self.assertEqual(result["device"], "py1")
        self.assertGreater(result["latency_ms"]["p50"], 0)
        self.assertEqual(task.data["model_name"], "tinycnn.onnx")

        rows = edgebench.results_table([task, result])
        self.assertEqual(len(rows), 2)
        self.assertEqual(rows[0], rows[1])
        self.assertEqual(rows[0]["runtime"], "null")
        self.assertEqual(rows[0]["device"], "py1")
        self.assertEqual(rows[0]["median_ms"], result["latency_ms"]["p50"])
        self.assertEqual(rows[0]["runs"], 5)
        json.dumps(rows)  # plain values, ready for pandas.DataFrame(rows)

        listed = [t for t in self.client.tasks() if t["id"] == task.id]
        self.assertEqual(len(listed), 1)
        self.assertEqual(listed[0]["state"], "succeeded")
        self.assertEqual(self.client.task(task.id).result(), result)

    def test_job(self):
        job = self.client.job([MODEL], ["null"], devices=["py1"], **QUICK)
        done = []
        job.wait(timeout=120, poll_seconds=0.2, progress=lambda j: done.append(j["tasks_done"]))
        self.assertEqual(job.state, "succeeded")
        self.assertEqual(done[-1], 1)
        self.assertIn("tinycnn", job.table)
        rows = edgebench.results_table([job])
        self.assertEqual([r["device"] for r in rows], ["py1"])

    def test_devices(self):
        devices = self.client.devices()
        device = next(d for d in devices if d["name"] == "py1")
        self.assertTrue(device["online"])
        self.assertIn("null", [r["name"] for r in device["facts"]["runtimes"]])

    def test_errors_carry_the_server_message(self):
        with self.assertRaises(edgebench.ApiError) as caught:
            self.client.submit(MODEL, runtime="nosuch", device="py1")
        self.assertEqual(caught.exception.status, 422)
        self.assertIn("unknown runtime 'nosuch'", caught.exception.message)
        with self.assertRaises(edgebench.ApiError) as caught:
            edgebench.Client(self.url, "not-a-token").devices()
        self.assertEqual(caught.exception.status, 401)
        self.assertIn("invalid token", str(caught.exception))
        with self.assertRaises(edgebench.ApiError) as caught:
            self.client.task(999999)
        self.assertEqual(caught.exception.status, 404)
        with self.assertRaises(ValueError):
            self.client.submit(MODEL, runtime="null")

    def test_cancel_a_queued_task(self):
        # An agent registered over HTTP that never asks for work: its task stays queued.
        request = urllib.request.Request(
            self.url + "/v1/agents", method="POST",
            data=json.dumps({"name": "idle1", "facts": {"runtimes": [{"name": "null", "version": "1"}]},
                             "labels": {"pool": "idle"}}).encode(),
            headers={"Authorization": "Bearer " + self.registration_token, "Content-Type": "application/json"})
        urllib.request.urlopen(request).read()
        task = self.client.submit(MODEL, runtime="null", select="pool=idle", **QUICK)
        self.assertEqual(task.state, "queued")
        task.cancel()
        self.assertEqual(task.state, "cancelled")
        with self.assertRaises(LookupError):
            task.result()
        with self.assertRaises(edgebench.ApiError) as caught:
            self.client.cancel(task.id)
        self.assertEqual(caught.exception.status, 409)


if __name__ == "__main__":
    unittest.main()
