"""Time to the first content chunk: the streaming API against the buffered HTTP API (run by `make bench` inside a
local stack whose Bedrock stand-in waits LOCAL_BEDROCK_TOKEN_DELAY_MS before each token, 50 ms there).

The same request, a 40-word answer with `stream: true` through the openai SDK, RUNS times on each path after a
warm-up; prints the median time to the first content chunk and to the end of the answer for each.
"""

from __future__ import annotations

import os
import statistics
import time

import openai

RUNS = int(os.environ.get("BENCH_TTFT_RUNS", "5"))
TARGET_MS = 200
MODEL = "amazon.nova-micro-v1:0"
PROMPT = " ".join(f"word{i}" for i in range(39))  # the stand-in answers "echo: " + these: 40 words


def timed(client: openai.OpenAI) -> tuple[float, float, int]:
    """(ms to the first content chunk, ms to the end, content chunks)."""
    started = time.perf_counter()
    first = 0.0
    chunks = 0
    stream = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": PROMPT}], stream=True, max_tokens=64
    )
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            chunks += 1
            first = first or (time.perf_counter() - started) * 1000
    return first, (time.perf_counter() - started) * 1000, chunks


def main() -> None:
    token = os.environ["API_TOKEN"]
    paths = {
        "streaming API (REST response streaming)": os.environ["STREAMING_API_URL"],
        "buffered HTTP API": os.environ["API_URL"],
    }
    delay = os.environ.get("LOCAL_BEDROCK_TOKEN_DELAY_MS", "0")
    print(f"==> time to first token: 40-word answer, {delay} ms per token at the Bedrock stand-in, median of {RUNS}")
    results = {}
    for name, url in paths.items():
        client = openai.OpenAI(base_url=f"{url}/v1", api_key=token, max_retries=0, timeout=60)
        timed(client)  # warm: authorizer, function, connections
        runs = [timed(client) for _ in range(RUNS)]
        first, total = statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)
        results[name] = first
        print(f"    {name:<42} first content {first:7.0f} ms   whole answer {total:6.0f} ms   chunks {runs[0][2]}")
    streamed = results["streaming API (REST response streaming)"]
    verdict = "met" if streamed < TARGET_MS else "NOT met"
    sooner = results["buffered HTTP API"] / streamed
    print(f"    streaming first content under {TARGET_MS} ms: {verdict}; {sooner:.0f}x sooner than buffered")


if __name__ == "__main__":
    main()
