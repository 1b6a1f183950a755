"""A local stand-in for the Bedrock Runtime API (moto's is not usable): Converse, ConverseStream, InvokeModel.

Written by hand because no library serves Bedrock's wire format: the rest-json routes, botocore's error naming
(`x-amzn-ErrorType`) and the `application/vnd.amazon.eventstream` framing of ConverseStream. Standard library
only, so it starts in ~50 ms. Run it with `python -m local.bedrock_standin` (from the project root).

Deterministic behaviour, so tests can prove the gateway's translation end to end:
- **Text**: `echo: <last user turn's text>`, one token per word; stop sequences and maxTokens apply.
- **Images**: each image block of the last user turn adds ` [image: <format>, <decoded byte count> bytes]`.
- **Tool calls** (request has `toolConfig`): `toolChoice.tool` calls that tool; `toolChoice.any` the first tool;
  `auto` (or none given) calls every tool whose name appears in the last user turn's text, in the order of
  `toolConfig.tools` (parallel calls); none named -> the plain echo. Each input is the minimal instance of the
  tool's input schema (models.minimal_instance). The text block `calling <names>` precedes the toolUse blocks,
  `stopReason` is `tool_use`, ids are `tooluse_` + 8 hex characters.
- **Tool results**: when the last user turn holds toolResult blocks (and no tool is forced), the answer is
  `echo: tool results: ` + each result's text joined with ` | `.
- **Embeddings** (InvokeModel): Titan Text Embeddings v2 (`inputText`, `dimensions` 256/512/1024, default 1024,
  `normalize` default true) and Cohere Embed v3 (`texts`, `input_type`; 1024 dimensions): a vector per text
  derived from its SHA-256 (same text -> same vector; unit length when normalised); token count = words, also
  in the `X-Amzn-Bedrock-Input-Token-Count` header as Bedrock sends it. `--embed-delay-ms` delays each call.
- **Guardrails** (guardrails.py), **cache points** (prompt_cache.py), **thinking** (thinking.py): see each module;
  README's "Local development" lists them.
- **Bedrock's server-side rules** (rules.py) answer `ValidationException` with Bedrock's message: roles alternate
  starting with user; a toolResult answers a toolUse of the previous assistant turn; `toolConfig` whenever the
  history holds tool blocks; tool name and id patterns; image formats and size.
- **Faults**: model ids `fault.*` inject each failure with Bedrock's exact wire shape; `fault.timeout` hangs.
"""

from .server import main, serve

__all__ = ["main", "serve"]
