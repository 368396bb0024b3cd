#!/usr/bin/env python3
"""A local HTTP receiver for notification tests: records every request as one JSON line and answers with the status
codes it was given, in order (the last one repeats).

    http_receiver.py RECORD_FILE [--endless-body] [STATUS ...]

With --endless-body every answer's body never ends (until the client hangs up): for clients that must bound what
they read.

Prints "READY <port>" (127.0.0.1, a port chosen by the kernel) as the first line on stdout, then serves until
killed. Each record: {"method", "path", "headers": {lower-case name: value}, "body"}.
"""
import http.server
import json
import sys
import threading

record_file = sys.argv[1]
endless_body = "--endless-body" in sys.argv[2:]
statuses = [int(s) for s in sys.argv[2:] if s != "--endless-body"] or [200]
lock = threading.Lock()
count = 0


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global count
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode("utf-8", "replace")
        with lock:
            status = statuses[min(count, len(statuses) - 1)]
            count += 1
            with open(record_file, "a", encoding="utf-8") as f:
                f.write(json.dumps({"method": "POST", "path": self.path,
                                    "headers": {k.lower(): v for k, v in self.headers.items()},
                                    "body": body}) + "\n")
        if endless_body:
            # No Content-Length: the body lasts until the connection closes, which only the client does.
            self.send_response(status)
            self.send_header("Connection", "close")
            self.end_headers()
            chunk = b"x" * 65536
            try:
                while True:
                    self.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                return
        answer = b"ok" if status < 300 else b"receiver says no"
        self.send_response(status)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print("READY %d" % server.server_address[1], flush=True)
server.serve_forever()
