#!/usr/bin/python3
"""A local NCloud Secret Manager for tests: GET /api/v1/secrets/{secretId}/values on loopback, behind a stand-in for
the API gateway that checks every request's signature v2 and timestamp with its own code (hmac/hashlib/base64 here,
nothing shared with the client under test).

    ncloud_secret_manager_server.py CONFIG [--request-log FILE]

Listens on 127.0.0.1 on a free port, prints "READY <port>" once it accepts connections, and runs until it gets
SIGTERM/SIGINT or its stdin closes. With --request-log, appends one JSON line per request:
{"method", "path", "secret_id", "status", "auth"} where auth is "ok" or why the gateway refused it.

CONFIG is a JSON file:
    {
      "access_key": "AK", "secret_key": "SK",      the one key pair the gateway accepts
      "max_skew_seconds": 300,                      optional; a timestamp further from the server's clock is refused
      "clock_offset_seconds": 0,                    optional; the server's clock runs this far ahead (Date header too)
      "secrets": {
        "db":    {"chain": {"active": "{\\"cdbPassword\\":\\"pw\\"}", "previous": "...", "pending": "..."}},
        "plain": {"chain": {"active": "just text"}},
        "gone":  {"status": 404},                   an error answer in NCloud's envelope (403, 404, 422, 500, 503, ...)
        "junk":  {"raw_body": "{not json", "status": 200},   a body sent as is
        "flaky": {"fail_first": 2, "fail_status": 503, "chain": {...}}   the first N requests fail, then the chain
      }
    }
An id that is not in "secrets" answers 404 NOT_FOUND. A chain stage given as null is sent as null.
"""
import base64
import hashlib
import hmac
import http.server
import json
import os
import signal
import sys
import threading
import time

SECRET_PATH_PREFIX = "/api/v1/secrets/"
SECRET_PATH_SUFFIX = "/values"

# Secret Manager's own error codes and messages, by HTTP status (ncloud-apis.md, section 2).
SERVICE_ERRORS = {
    400: ("INVALID_REQUEST", "Invalid request"),
    403: ("FORBIDDEN", "Forbidden"),
    404: ("NOT_FOUND", "Not found"),
    422: ("UNPROCESSABLE_ENTITY", "Invalid status"),
    500: ("INTERNAL_SERVER_ERROR", "Server internal error"),
}


def envelope(code, message, details):
    return {"error": {"errorCode": code, "message": message, "details": details}}


class Gateway:
    """The request checks of the API gateway, and the secrets behind it."""

    def __init__(self, config, log_path):
        self.access_key = config["access_key"]
        self.secret_key = config["secret_key"].encode("utf-8")
        self.max_skew_ms = int(config.get("max_skew_seconds", 300)) * 1000
        self.clock_offset = float(config.get("clock_offset_seconds", 0))
        self.secrets = config.get("secrets", {})
        self.counts = {}
        self.lock = threading.Lock()
        self.log_path = log_path

    def now(self):
        return time.time() + self.clock_offset

    def check_auth(self, method, target, headers):
        """None if the request is signed correctly, else why not (the gateway's 401 details)."""
        timestamp = headers.get("x-ncp-apigw-timestamp")
        access_key = headers.get("x-ncp-iam-access-key")
        signature = headers.get("x-ncp-apigw-signature-v2")
        if not timestamp or not access_key or not signature:
            return "missing authentication headers"
        if not timestamp.isdigit():
            return "invalid timestamp"
        if abs(int(self.now() * 1000) - int(timestamp)) > self.max_skew_ms:
            return "timestamp expired"
        if access_key != self.access_key:
            return "unknown access key"
        message = "{} {}\n{}\n{}".format(method, target, timestamp, access_key).encode("utf-8")
        expected = base64.b64encode(hmac.new(self.secret_key, message, hashlib.sha256).digest()).decode("ascii")
        if not hmac.compare_digest(expected, signature):
            return "signature mismatch"
        return None

    def answer(self, secret_id):
        """(status, body bytes) for an authenticated GetSecretValue."""
        entry = self.secrets.get(secret_id)
        if entry is None:
            return self.service_error(404, "secret not found")
        with self.lock:
            count = self.counts.get(secret_id, 0) + 1
            self.counts[secret_id] = count
        if count <= int(entry.get("fail_first", 0)):
            return self.service_error(int(entry.get("fail_status", 503)), "injected failure")
        if "raw_body" in entry:
            return int(entry.get("status", 200)), entry["raw_body"].encode("utf-8")
        if "chain" in entry:
            body = {"code": "SUCCESS",
                    "data": {"decryptedSecretChain": entry["chain"], "rotationTargets": entry.get("rotation_targets", [])}}
            return 200, json.dumps(body).encode("utf-8")
        return self.service_error(int(entry.get("status", 500)), "configured failure")

    @staticmethod
    def service_error(status, details):
        code, message = SERVICE_ERRORS.get(status, ("SERVICE_UNAVAILABLE", "Service unavailable"))
        return status, json.dumps(envelope(code, message, details)).encode("utf-8")

    def log(self, record):
        if not self.log_path:
            return
        with self.lock, open(self.log_path, "a") as f:
            f.write(json.dumps(record) + "\n")


def make_handler(gateway):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def date_time_string(self, timestamp=None):
            return super().date_time_string(gateway.now() if timestamp is None else timestamp)

        def log_message(self, *args):
            pass  # the request log is the record; stderr stays quiet

        def send(self, status, body):
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def handle_any(self):
            headers = {name.lower(): value for name, value in self.headers.items()}
            record = {"method": self.command, "path": self.path, "secret_id": None}
            refused = gateway.check_auth(self.command, self.path, headers)
            if refused:
                record.update(status=401, auth=refused)
                gateway.log(record)
                self.send(401, json.dumps(envelope("200", "Authentication Failed", refused)).encode("utf-8"))
                return
            record["auth"] = "ok"
            path = self.path
            if self.command != "GET" or not (path.startswith(SECRET_PATH_PREFIX) and path.endswith(SECRET_PATH_SUFFIX)):
                status, body = 404, json.dumps(envelope("300", "Not Found Exception", "no such API")).encode("utf-8")
            else:
                secret_id = path[len(SECRET_PATH_PREFIX):-len(SECRET_PATH_SUFFIX)]
                record["secret_id"] = secret_id
                if not secret_id or "/" in secret_id:
                    status, body = gateway.service_error(404, "secret not found")
                else:
                    status, body = gateway.answer(secret_id)
            record["status"] = status
            gateway.log(record)
            self.send(status, body)

        do_GET = handle_any
        do_POST = handle_any
        do_PUT = handle_any
        do_DELETE = handle_any

    return Handler


def main():
    args = sys.argv[1:]
    log_path = None
    if "--request-log" in args:
        i = args.index("--request-log")
        log_path = args[i + 1]
        del args[i:i + 2]
    if len(args) != 1:
        sys.exit("usage: ncloud_secret_manager_server.py CONFIG [--request-log FILE]")
    with open(args[0]) as f:
        config = json.load(f)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), make_handler(Gateway(config, log_path)))
    server.daemon_threads = True
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    def watch_stdin():
        while os.read(0, 4096):
            pass
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print("READY {}".format(server.server_address[1]), flush=True)
    while not stop.wait(0.2):
        pass
    server.shutdown()
    server.server_close()
    # Handler and stdin threads may still be blocked in reads: leave without waiting for them.
    os._exit(0)


if __name__ == "__main__":
    main()
