#!/usr/bin/env python3
"""Refreshes the examples of docs/openapi.json from a real server's answers.

    EDGEBENCH_OPENAPI_EXAMPLES_OUT=/tmp/answers.json build/tests/edgebench_openapi_examples_test
    tools/openapi_examples.py /tmp/answers.json

The test (tests/openapi_examples_test.cc) calls every operation and records its requests and
answers; this writes them into the document as the request and response examples (result
documents cut to their main keys, the rest as "..."), for the operations and statuses the
document describes with a JSON body. The test then checks the examples against the server.
"""
import json
import os
import sys

DOCUMENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", "openapi.json")
# The keys of a result document shown in examples; the rest is docs/result-schema.md.
RESULT_KEYS = ("schema", "device", "model", "runtime", "runs", "latency_ms", "stop_reason", "validity", "error")


def shorten(value):
    """Result documents inside an answer cut to RESULT_KEYS (with "..." for the rest)."""
    if isinstance(value, dict):
        if str(value.get("schema", "")).startswith("edgebench.result/"):
            short = {k: shorten(value[k]) for k in RESULT_KEYS if k in value}
            short["..."] = "docs/result-schema.md"
            return short
        return {k: shorten(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shorten(v) for v in value]
    return value


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: tools/openapi_examples.py ANSWERS.json")
    with open(sys.argv[1]) as f:
        answers = json.load(f)
    with open(DOCUMENT) as f:
        document = json.load(f)
    shared = document["components"]["responses"]
    for key, recorded in sorted(answers.items()):
        method, path = key.split(" ", 1)
        operation = document["paths"][path][method]
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if body is not None and "request" in recorded:
            body["example"] = shorten(recorded["request"])
        for status, answer in recorded.get("responses", {}).items():
            response = operation["responses"].get(status)
            if response is None:
                continue
            if "$ref" in response:  # a shared response: this operation's own copy holds the example
                response = json.loads(json.dumps(shared[response["$ref"].rsplit("/", 1)[1]]))
                operation["responses"][status] = response
            content = response.get("content", {}).get("application/json")
            if content is not None:
                content["example"] = shorten(answer)
    with open(DOCUMENT, "w") as f:
        json.dump(document, f, indent=1, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
