#!/usr/bin/env python3
"""A medsafe `exec` backend that forwards requests to an OpenAI-compatible server.

medsafe starts this program and speaks the exec protocol with it (docs/exec-protocol.md): JSON
lines on stdin (hello, request, cancel) and stdout (hello, delta, answer, error). Requests are
handled by a pool of threads, so many are in flight at once and answers go back in any order.
Standard library only (urllib); Python 3.8 or newer.

    [models.mine]
    plugin = "exec"
    command = ["python3", "exec_adapter.py", "--base-url", "http://127.0.0.1:8000/v1",
               "--model", "meta-llama/Llama-3.1-8B-Instruct"]
    max_in_flight = 16

The base URL may also come from MEDSAFE_ADAPTER_BASE_URL or OPENAI_BASE_URL, the model from
MEDSAFE_ADAPTER_MODEL, and both from the hello's options ({ base_url = ..., model = ... }). The API
key is read from the environment variable named by --api-key-env (default OPENAI_API_KEY) and is
never printed.
"""
import argparse
import io
import json
import os
import socket
import sys
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

PROTOCOL = 1


class Output:
    """Writes protocol lines to stdout, one whole line at a time from any thread."""

    def __init__(self, stream):
        self._stream = stream
        self._lock = threading.Lock()

    def send(self, message):
        line = json.dumps(message) + "\n"  # ASCII only: no encoding surprises
        with self._lock:
            self._stream.write(line)
            self._stream.flush()


def log(text):
    print("exec_adapter: " + text, file=sys.stderr, flush=True)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default=os.environ.get("MEDSAFE_ADAPTER_BASE_URL")
                        or os.environ.get("OPENAI_BASE_URL"),
                        help="the server's base URL, e.g. http://127.0.0.1:8000/v1")
    parser.add_argument("--model", default=os.environ.get("MEDSAFE_ADAPTER_MODEL", "default"),
                        help="the model name sent to the server")
    parser.add_argument("--api-key-env", default="OPENAI_API_KEY",
                        help="the environment variable holding the API key (may be unset)")
    parser.add_argument("--threads", type=int, default=16,
                        help="requests handled at once (announced as max_in_flight)")
    parser.add_argument("--no-stream", action="store_true",
                        help="ask for whole answers instead of streamed deltas")
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="seconds to wait for the server")
    return parser.parse_args(argv)


class Adapter:
    def __init__(self, args, out):
        self.args = args
        self.out = out
        self.base_url = args.base_url
        self.model = args.model
        self.cancelled = set()
        self.cancelled_lock = threading.Lock()

    def configure(self, options):
        self.base_url = options.get("base_url", self.base_url)
        self.model = options.get("model", self.model)

    def is_cancelled(self, request_id):
        with self.cancelled_lock:
            return request_id in self.cancelled

    def cancel(self, request_id):
        with self.cancelled_lock:
            self.cancelled.add(request_id)

    def error(self, request_id, outcome, message, http_status=None, retry_after=None):
        reply = {"type": "error", "id": request_id, "outcome": outcome, "message": message}
        if http_status is not None:
            reply["http_status"] = http_status
        if retry_after is not None:
            reply["retry_after_s"] = retry_after
        self.out.send(reply)

    def handle(self, message):
        request_id = message["id"]
        try:
            if self.is_cancelled(request_id):
                return
            if not self.base_url:
                self.error(request_id, "backend_error",
                           "no base URL: pass --base-url or set OPENAI_BASE_URL")
                return
            self.forward(request_id, message)
        except urllib.error.HTTPError as e:
            retry_after = e.headers.get("Retry-After") if e.headers else None
            try:
                retry_after = float(retry_after) if retry_after is not None else None
            except ValueError:
                retry_after = None
            body = e.read(2000).decode("utf-8", "replace")
            self.error(request_id, "http_error", "HTTP %d: %s" % (e.code, body), e.code, retry_after)
        except (socket.timeout, TimeoutError) as e:
            self.error(request_id, "timeout", "no answer from the server: %s" % e)
        except urllib.error.URLError as e:
            self.error(request_id, "transport_error", "cannot reach the server: %s" % e.reason)
        except (ConnectionError, OSError) as e:
            self.error(request_id, "transport_error", "connection failed: %s" % e)
        except (ValueError, KeyError, IndexError, TypeError) as e:
            self.error(request_id, "malformed", "the server's answer could not be read: %r" % e)
        except Exception as e:  # never let one request take the adapter down
            self.error(request_id, "backend_error", "the adapter failed: %r" % e)

    def forward(self, request_id, message):
        stream = not self.args.no_stream
        body = {"model": self.model, "messages": message["messages"], "stream": stream}
        for key in ("max_tokens", "temperature", "seed"):
            if key in message:
                body[key] = message[key]
        if message.get("ignore_eos"):
            body["ignore_eos"] = True
        if stream:
            body["stream_options"] = {"include_usage": True}
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(self.args.api_key_env)
        if key:
            headers["Authorization"] = "Bearer " + key
        request = urllib.request.Request(self.base_url.rstrip("/") + "/chat/completions",
                                         data=json.dumps(body).encode("utf-8"), headers=headers,
                                         method="POST")
        with urllib.request.urlopen(request, timeout=self.args.timeout) as response:
            if stream:
                self.relay_stream(request_id, response)
            else:
                data = json.load(response)
                choice = data["choices"][0]
                answer = {"type": "answer", "id": request_id,
                          "text": choice["message"].get("content") or "",
                          "finish_reason": choice.get("finish_reason") or ""}
                if data.get("usage"):
                    answer["usage"] = data["usage"]
                self.out.send(answer)

    def relay_stream(self, request_id, response):
        """Relays each SSE content event as a delta; the answer's text is their concatenation."""
        finish_reason = ""
        usage = None
        for raw in response:
            if self.is_cancelled(request_id):
                return
            line = raw.decode("utf-8", "replace").strip()
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                break
            chunk = json.loads(data)
            if chunk.get("error"):
                self.error(request_id, "stream_error", "in-band error: %s" % chunk["error"])
                return
            if chunk.get("usage"):
                usage = chunk["usage"]
            for choice in chunk.get("choices") or []:
                text = (choice.get("delta") or {}).get("content")
                if text:
                    self.out.send({"type": "delta", "id": request_id, "text": text})
                if choice.get("finish_reason"):
                    finish_reason = choice["finish_reason"]
        else:
            self.error(request_id, "stream_error", "the stream ended before [DONE]")
            return
        answer = {"type": "answer", "id": request_id, "finish_reason": finish_reason}
        if usage:
            answer["usage"] = {k: usage[k] for k in ("prompt_tokens", "completion_tokens")
                               if isinstance(usage.get(k), int)}
        self.out.send(answer)


def main(argv):
    args = parse_args(argv)
    stdin = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")
    out = Output(sys.stdout)
    adapter = Adapter(args, out)
    pool = ThreadPoolExecutor(max_workers=max(1, args.threads))
    for line in stdin:
        if not line.strip():
            continue
        try:
            message = json.loads(line)
        except ValueError:
            log("ignored a line that is not JSON")
            continue
        kind = message.get("type")
        if kind == "hello":
            if message.get("protocol") != PROTOCOL:
                log("medsafe speaks protocol %r; this adapter speaks %d" %
                    (message.get("protocol"), PROTOCOL))
            adapter.configure(message.get("options") or {})
            out.send({"type": "hello", "protocol": PROTOCOL, "name": "exec_adapter.py",
                      "max_in_flight": max(1, args.threads)})
        elif kind == "request":
            pool.submit(adapter.handle, message)
        elif kind == "cancel":
            adapter.cancel(message.get("id"))
        else:
            log("ignored a line of type %r" % kind)
    # End of input: medsafe asks us to exit. Requests still running are abandoned.
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])
