"""OpenAI's API on top of Bedrock, split by concern.

- `schema`: the request bodies (what pydantic checks: types and shapes);
- `chat`: Chat Completions -> Converse and back, and which OpenAI fields are honoured, refused or ignored;
- `messages`: OpenAI messages (text, images, tool calls, tool results) -> Converse turns;
- `tools`: tools, tool_choice and response_format -> Converse toolConfig, and tool uses -> tool_calls;
- `streaming`: `stream: true` as server-sent `chat.completion.chunk` events (the one ChunkEncoder);
- `relay`: a live ConverseStream as those events, delta by delta (the streaming API);
- `embeddings`: /v1/embeddings on Titan Text Embeddings v2 and Cohere Embed v3;
- `catalog`: /v1/models;
- `shapes`: response shapes, for the OpenAPI document only.
"""
