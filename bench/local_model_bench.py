"""Speed of the local-model lane: prompt and generation tokens/s, seconds per article.

Starts the local llama.cpp server exactly as ``llm.provider = "local"`` does, sends one
drafting prompt built from the demo corpus (non-streamed, so llama.cpp's own ``timings``
come back), and prints prompt tokens, prompt tok/s, generated tokens, generation tok/s and
wall seconds, per thread count. Machine load is printed alongside: the numbers only mean
something next to it (2 shared cores here).

    nice -n 10 python bench/local_model_bench.py --home /tmp/home-with-demo-index \
        [--threads 1 2] [--budget 1200 800] [--max-tokens 700]
"""

from __future__ import annotations

import argparse
import json
import os
import time
import urllib.request
from typing import Any

from langchain_core.messages import BaseMessage


def _role(message: BaseMessage) -> str:
    return {"system": "system", "human": "user", "ai": "assistant"}[message.type]


def main() -> None:
    """Run the benchmark (see the module docstring)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", required=True, help="press home holding a demo index")
    parser.add_argument("--threads", type=int, nargs="+", default=[1])
    parser.add_argument("--budget", type=int, nargs="+", default=[1200])
    parser.add_argument("--max-tokens", type=int, default=700)
    parser.add_argument(
        "--question",
        default="Is IVIG medically necessary for a patient with seronegative stiff-person "
        "syndrome who improved on IVIG after benzodiazepines and gabapentin?",
    )
    args = parser.parse_args()

    from pipeline.draft.chain import LLMDrafter
    from pipeline.draft.local import LocalServer
    from pipeline.draft.structured import response_format
    from pipeline.index.hybrid import Index
    from pipeline.retrieve.retriever import HybridRetriever
    from pipeline.settings.drafting import LLMSettings
    from pipeline.settings.load import load_settings
    settings = load_settings(home=args.home)
    index = Index(settings)
    print(f"load average {os.getloadavg()}, cores {os.cpu_count()}")
    for threads in args.threads:
        llm = LLMSettings(provider="local", local_threads=threads, max_tokens=args.max_tokens)
        server = LocalServer.for_settings(llm)
        for budget in args.budget:
            retrieval = settings.retrieval.model_copy(update={"token_budget": budget, "k": 5})
            evidence = HybridRetriever(index=index, settings=retrieval).evidence(args.question)
            drafter = LLMDrafter(None, llm)  # type: ignore[arg-type]  # messages only
            messages = drafter.messages(args.question, evidence, "clinician", "json_schema")
            body: dict[str, Any] = {
                "model": "local",
                "messages": [{"role": _role(m), "content": str(m.content)} for m in messages],
                "max_tokens": args.max_tokens,
                "response_format": response_format(),
                "cache_prompt": False,
                "temperature": 0,
            }
            start = time.monotonic()
            request = urllib.request.Request(
                server.base_url + "/chat/completions",
                json.dumps(body).encode(),
                {"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=1800) as response:
                reply = json.load(response)
            wall = time.monotonic() - start
            t = reply.get("timings", {})
            print(
                f"threads {threads} budget {budget}: prompt {t.get('prompt_n')} tok at "
                f"{t.get('prompt_per_second', 0):.1f} tok/s, generated {t.get('predicted_n')} "
                f"tok at {t.get('predicted_per_second', 0):.1f} tok/s, {wall:.1f} s wall, "
                f"finish {reply['choices'][0]['finish_reason']}; load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
        server.stop()


if __name__ == "__main__":
    main()
