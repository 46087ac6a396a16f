"""The client of the edgebench evaluation service's HTTP API (/v1), standard library only.

Client(server, token) talks to one server; submit() uploads a model and creates a task, job()
a sweep of tasks; Task.wait() polls until the task is final and Task.result() returns its
result document (docs/result-schema.md) as a dict. Every 4xx/5xx answer raises ApiError with
the server's one-line message.
"""

import json
import os
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request

FINAL_STATES = ("succeeded", "failed", "cancelled", "timed_out")


class ApiError(Exception):
    """A 4xx/5xx answer: `status` (the HTTP status) and `message` (the server's error line)."""

    def __init__(self, status, message, method="", path=""):
        super().__init__("{} {}: {} {}".format(method, path, status, message).strip())
        self.status = status
        self.message = message
        self.method = method
        self.path = path


def _selector(select):
    """{"board": "rpi4"} as given, or "board=rpi4,os=linux" as a dict."""
    if select is None or isinstance(select, dict):
        return select
    pairs = {}
    for item in str(select).split(","):
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError("selector {!r}: expected label=value[,label=value...]".format(select))
        pairs[key.strip()] = value.strip()
    return pairs


class Client:
    """One edgebench server: `server` is its URL (http://HOST:PORT or https://...), `token` an
    admin or user token, `ca_file` the PEM certificate that signed an https server's."""

    def __init__(self, server, token, ca_file=None, timeout=60.0):
        self.server = server.rstrip("/")
        self.token = token.strip()
        self.timeout = timeout
        self._context = ssl.create_default_context(cafile=ca_file) if ca_file else None

    def request(self, method, path, body=None, data=None, content_type="application/json", query=None):
        """Sends one request; returns the parsed JSON answer (None for 204)."""
        url = self.server + path
        if query:
            pairs = {k: v for k, v in query.items() if v is not None}
            if pairs:
                url += "?" + urllib.parse.urlencode(pairs)
        if body is not None:
            data = json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Authorization", "Bearer " + self.token)
        if data is not None:
            request.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=self._context) as response:
                text = response.read()
                return json.loads(text) if text else None
        except urllib.error.HTTPError as error:
            text = error.read().decode(errors="replace")
            try:
                message = json.loads(text).get("error", text)
            except (ValueError, AttributeError):
                message = text or error.reason
            raise ApiError(error.code, message, method, path) from None
        except urllib.error.URLError as error:
            raise ConnectionError("cannot reach {}: {}".format(self.server, error.reason)) from None

    # -- models, tasks, jobs -------------------------------------------------------------------

    def upload_model(self, model_path):
        """Uploads a model file (stored once by content); returns {sha256, size_bytes, format, name}."""
        name = os.path.basename(model_path)
        with open(model_path, "rb") as f:
            data = f.read()
        return self.request("POST", "/v1/models", data=data, content_type="application/octet-stream",
                            query={"name": name})

    def submit(self, model_path, runtime, device=None, select=None, compare=None, **settings):
        """Uploads the model and creates a task on `device` (an agent's name) or on any device
        whose labels match `select` ({"board": "rpi4"} or "board=rpi4"). Keyword arguments are
        settings (docs/settings.md: min_runs=30, threads=1, profile_runs=10, precision="int8").
        Returns the Task at once; Task.wait() waits for it."""
        if (device is None) == (select is None):
            raise ValueError("give exactly one of device and select")
        model = self.upload_model(model_path)
        body = {"model_sha256": model["sha256"], "runtime": runtime, "settings": settings}
        if device is not None:
            body["device"] = device
        else:
            body["selector"] = _selector(select)
        if compare is not None:
            body["compare"] = compare
        return Task(self, self.request("POST", "/v1/tasks", body=body))

    def job(self, models, runtimes, devices=None, selectors=None, skip_unavailable=False, **settings):
        """A task per (model, runtime, device or selector): `models` are files (uploaded) or
        sha256 strings of models uploaded before. Returns the Job."""
        shas = []
        for model in models:
            if len(model) == 64 and all(c in "0123456789abcdef" for c in model) and not os.path.exists(model):
                shas.append(model)
            else:
                shas.append(self.upload_model(model)["sha256"])
        body = {"models": shas, "runtimes": list(runtimes), "settings": settings,
                "skip_unavailable": skip_unavailable}
        if devices:
            body["devices"] = list(devices)
        if selectors:
            body["selectors"] = [_selector(s) for s in selectors]
        return Job(self, self.request("POST", "/v1/jobs", body=body))

    def task(self, task_id):
        """The task with this id (its JSON in Task.data, with its result when there is one)."""
        return Task(self, self.request("GET", "/v1/tasks/{}".format(int(task_id))))

    def get_job(self, job_id):
        return Job(self, self.request("GET", "/v1/jobs/{}".format(int(job_id))))

    def tasks(self, state=None, job=None, limit=None, after=None):
        """Tasks newest first, as dicts; the filters are the server's query parameters."""
        query = {"state": state, "job": job, "limit": limit, "after": after}
        return self.request("GET", "/v1/tasks", query=query)["tasks"]

    def jobs(self, limit=None, after=None):
        return self.request("GET", "/v1/jobs", query={"limit": limit, "after": after})["jobs"]

    def devices(self):
        """The registered devices (agents): name, online, labels, facts, last_seen_at."""
        return self.request("GET", "/v1/devices")["devices"]

    def cancel(self, task):
        """Cancels a task (a Task or an id); returns its JSON. A final task raises ApiError 409."""
        task_id = task.id if isinstance(task, Task) else int(task)
        return self.request("POST", "/v1/tasks/{}/cancel".format(task_id))


class Task:
    """A task of the server. `data` is its last JSON; `state` asks the server again until the
    task is final."""

    def __init__(self, client, data):
        self.client = client
        self.data = data
        self.id = data["id"]

    def __repr__(self):
        return "Task({}, {}, {} on {})".format(self.id, self.data["state"], self.data["runtime"],
                                             self.data.get("agent") or self.data.get("device") or "?")

    def refresh(self):
        self.data = self.client.request("GET", "/v1/tasks/{}".format(self.id))
        return self

    @property
    def state(self):
        if self.data["state"] not in FINAL_STATES:
            self.refresh()
        return self.data["state"]

    @property
    def done(self):
        return self.state in FINAL_STATES

    def wait(self, timeout=None, poll_seconds=1.0, progress=None):
        """Polls until the task is final; `progress(task_json)` is called at each change of state.
        Returns the task; TimeoutError after `timeout` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        seen = None
        while True:
            self.refresh()
            key = (self.data["state"], self.data.get("agent"), self.data.get("attempts"))
            if progress is not None and key != seen:
                progress(self.data)
            seen = key
            if self.data["state"] in FINAL_STATES:
                return self
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError("task {} is still {} after {} s".format(self.id, self.data["state"], timeout))
            time.sleep(poll_seconds)

    def result(self):
        """The result document (a dict): edgebench.result/1, or edgebench.comparison/1 for a
        comparison task. A failed run's document carries its `error`."""
        if self.data.get("result") is None:
            self.refresh()
        if self.data.get("result") is None:
            raise LookupError("task {} is {}: it has no result{}".format(
                self.id, self.data["state"], "" if self.data["state"] in FINAL_STATES else " yet (wait() first)"))
        return self.data["result"]

    def cancel(self):
        self.data = self.client.cancel(self.id)
        return self


class Job:
    """A job (many tasks): `data` is its last JSON, with the latency matrix in data["table"]."""

    def __init__(self, client, data):
        self.client = client
        self.data = data
        self.id = data["id"]

    def __repr__(self):
        return "Job({}, {}, {}/{} tasks done)".format(self.id, self.data["state"], self.data["tasks_done"],
                                                     self.data["tasks_total"])

    def refresh(self):
        self.data = self.client.request("GET", "/v1/jobs/{}".format(self.id))
        return self

    @property
    def state(self):
        if self.data["state"] in ("queued", "running"):
            self.refresh()
        return self.data["state"]

    def wait(self, timeout=None, poll_seconds=1.0, progress=None):
        """Polls until every task is final; `progress(job_json)` is called when tasks finish."""
        deadline = None if timeout is None else time.monotonic() + timeout
        seen = None
        while True:
            self.refresh()
            if progress is not None and self.data["tasks_done"] != seen:
                progress(self.data)
            seen = self.data["tasks_done"]
            if self.data["state"] not in ("queued", "running"):
                return self
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError("job {} has {} of {} tasks done after {} s".format(
                    self.id, self.data["tasks_done"], self.data["tasks_total"], timeout))
            time.sleep(poll_seconds)

    def tasks(self):
        return [Task(self.client, t) for t in self.refresh().data["tasks"]]

    def results(self):
        """The result documents of the job's tasks that have one."""
        return [task.result() for task in self.tasks() if task.data.get("has_result") and task.refresh()]

    @property
    def table(self):
        """The latency matrix as text (models as rows, a column per runtime and device)."""
        return self.data.get("table", {}).get("text", "")


def results_table(results):
    """One flat row (a dict) per result, for pandas.DataFrame(rows): results are documents,
    Tasks or Jobs. Times in milliseconds; `valid` the verdict, `reasons` why not."""
    documents = []
    for item in results:
        if isinstance(item, Job):
            documents.extend(item.results())
        elif isinstance(item, Task):
            documents.append(item.result())
        else:
            documents.append(item)
    rows = []
    for doc in documents:
        latency = doc.get("latency_ms") or {}
        ci = latency.get("median_ci95") or [None, None]
        environment = doc.get("environment") or {}
        validity = doc.get("validity") or {}
        error = doc.get("error")
        rows.append({
            "model": os.path.basename((doc.get("model") or {}).get("path", "")),
            "model_sha256": (doc.get("model") or {}).get("sha256"),
            "runtime": (doc.get("runtime") or {}).get("name"),
            "runtime_version": (doc.get("runtime") or {}).get("version"),
            "device": doc.get("device") or environment.get("hostname"),
            "threads": (doc.get("settings") or {}).get("threads"),
            "median_ms": latency.get("p50"),
            "ci95_low_ms": ci[0],
            "ci95_high_ms": ci[1],
            "mean_ms": latency.get("mean"),
            "p90_ms": latency.get("p90"),
            "p99_ms": latency.get("p99"),
            "min_ms": latency.get("min"),
            "runs": doc.get("runs"),
            "valid": bool(validity.get("valid")) and error is None,
            "reasons": "; ".join(validity.get("reasons") or []),
            "error": "{}: {}".format(error.get("stage"), error.get("message")) if error else None,
        })
    return rows
