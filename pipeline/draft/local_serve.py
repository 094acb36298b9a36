"""Child-process entry point that serves one GGUF with xllamacpp (llama.cpp's server).

Run by :class:`pipeline.draft.local.LocalServer` as ``python -m
pipeline.draft.local_serve --model PATH --port N --threads T --context C``; it binds
127.0.0.1 only, serves one request at a time (one slot: the whole context for one
article), keeps prompt caching on, turns llama.cpp's extra CPU buffer types off (they
crashed with an AMX fault in this VM) and runs until it is terminated.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import threading


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments, start the server and block until SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(prog="python -m pipeline.draft.local_serve")
    parser.add_argument("--model", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--context", type=int, default=4096)
    args = parser.parse_args(argv)

    xllamacpp = importlib.import_module("xllamacpp")  # optional: the [local] extra

    params = xllamacpp.CommonParams()
    params.model.path = args.model
    params.hostnames = ["127.0.0.1"]
    params.port = args.port
    params.n_ctx = args.context
    params.n_parallel = 1
    params.cache_prompt = True
    params.use_jinja = True
    params.warmup = False
    params.no_extra_bufts = True
    if args.threads > 0:
        params.cpuparams.n_threads = args.threads
        params.cpuparams_batch.n_threads = args.threads
    server = xllamacpp.Server(params)  # serves on its own threads until released
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"serving {args.model} on {server.listening_address}", flush=True)
    stop.wait()


if __name__ == "__main__":
    main()
