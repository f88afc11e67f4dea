#!/usr/bin/env python3
"""A scripted exec-protocol program for medsafe's exec tests: `fake_program.py MODE [ARG]`.

Modes: echo (deltas then an answer or a verdict), reverse N (answers every N requests in
reverse order), crash-after N, crash-once MARKER_FILE, malformed, malformed-reply, no-hello,
bad-hello, protocol2, error, silent (never answers), limit K (announces max_in_flight K and
answers in batches of K), env (answers with its environment and options), wrong-type,
exit-early (exits before its hello), huge-answer N (an answer line with N bytes of text),
huge-delta N (a delta line of N bytes, then more deltas and an answer), huge-late-id N (an
answer line of N bytes whose id comes after its text).
"""
import io
import json
import os
import sys
import time

mode = sys.argv[1]
arg = sys.argv[2] if len(sys.argv) > 2 else ""
stdin = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8")
options = {}


def send(obj):
    sys.stdout.write((obj if isinstance(obj, str) else json.dumps(obj)) + "\n")
    sys.stdout.flush()


def answer(msg, text=None):
    if msg["type"] == "judge":
        send({"type": "verdict", "id": msg["id"], "score": 4, "refused": False,
              "label": "fake", "reason": msg["response"], "model_calls": 1})
        return
    if text is None:
        send({"type": "delta", "id": msg["id"], "text": "Hello"})
        send({"type": "delta", "id": msg["id"], "text": ""})  # not token-bearing
        send({"type": "delta", "id": msg["id"], "text": ", " + msg["messages"][-1]["content"]})
        send({"type": "answer", "id": msg["id"], "finish_reason": "stop",
              "usage": {"prompt_tokens": 3, "completion_tokens": 7}})
    else:
        send({"type": "answer", "id": msg["id"], "text": text})


if mode == "exit-early":
    print("cannot load the model", file=sys.stderr)
    sys.exit(4)
if mode == "no-hello":
    time.sleep(60)
    sys.exit(0)

seen = 0
batch = []
for line in stdin:
    msg = json.loads(line)
    if msg["type"] == "hello":
        options = msg.get("options", {})
        if mode == "bad-hello":
            send("hi there")
        elif mode == "protocol2":
            send({"type": "hello", "protocol": 2})
        elif mode == "limit":
            send({"type": "hello", "protocol": 1, "name": "fake", "max_in_flight": int(arg)})
        else:
            send({"type": "hello", "protocol": 1, "name": "fake"})
        continue
    if msg["type"] == "cancel":
        print("cancelled " + msg["id"], file=sys.stderr, flush=True)
        continue
    seen += 1
    if mode == "echo":
        answer(msg)
    elif mode in ("reverse", "limit"):
        batch.append(msg)
        if len(batch) == int(arg):
            for m in reversed(batch):
                answer(m, "answer to " + m["messages"][-1]["content"])
            batch = []
    elif mode == "crash-after":
        if seen == int(arg):
            print("line one of the end", file=sys.stderr)
            print("fatal: out of memory", file=sys.stderr, flush=True)
            sys.exit(3)
    elif mode == "crash-once":
        if not os.path.exists(arg):
            open(arg, "w").close()
            print("crashing once", file=sys.stderr, flush=True)
            os._exit(9)
        answer(msg, "after restart: " + msg["messages"][-1]["content"])
    elif mode == "malformed":
        if seen == 1:
            send("this is not json {")
        else:
            answer(msg, "fine")
    elif mode == "malformed-reply":
        send({"type": "answer", "id": msg["id"], "usage": "lots"})
    elif mode == "wrong-type":
        send({"type": "verdict", "id": msg["id"], "score": 1})
    elif mode == "error":
        send({"type": "error", "id": msg["id"], "outcome": "http_error", "http_status": 429,
              "retry_after_s": 1.5, "message": "rate limited"})
    elif mode == "env":
        answer(msg, os.environ.get("EXEC_TEST_VAR", "") + "|" + os.getcwd() + "|" +
               json.dumps(options, sort_keys=True))
    elif mode == "silent":
        pass
    elif mode == "huge-answer":
        send({"id": msg["id"], "type": "answer", "text": "a" * int(arg), "finish_reason": "stop"})
    elif mode == "huge-delta":
        send({"id": msg["id"], "type": "delta", "text": "Start. "})
        send({"id": msg["id"], "type": "delta", "text": "d" * int(arg)})
        send({"id": msg["id"], "type": "delta", "text": "more"})
        send({"id": msg["id"], "type": "answer", "finish_reason": "stop"})
    elif mode == "huge-late-id":
        send('{"type": "answer", "text": "' + "l" * int(arg) + '", "id": "' + msg["id"] + '"}')
