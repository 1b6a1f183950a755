"""HTTP adapter: routes, the error responses, and the Lambda handler. Logic lives in the modules it imports."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

import metering
import model_calls
import request_checks
from bedrock import Conversation, Reply
from caller import Caller
from config import MAX_QUERY_TEXT, settings
from errors import GatewayError, error_body, field_errors, openai_error_body
from models import ErrorResponse, Health, InvokeRequest, InvokeResponse, ModelList, Text
from observability import add_dimension_sets, logger, metrics
from openai_compat import catalog, chat, embeddings, shapes, streaming
from openai_compat.schema import ChatCompletionRequest, EmbeddingRequest

app = APIGatewayHttpResolver(enable_validation=True)

ERRORS = {
    status: {"description": "Error", "content": {"application/json": {"model": ErrorResponse}}}
    for status in (400, 413, 422, 429, 502, 503, 504)
}


def request_id() -> str:
    return app.current_event.request_context.request_id or "-"


def caller() -> Caller:
    return app.context["caller"]


def call_model(conversation: Conversation) -> Reply:
    return model_calls.call_model(caller(), conversation)


def reject_unknown_query_parameters(resolver: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response:
    """Unknown query parameters are errors, like unknown body fields: `?modelId=` must not be silently ignored."""
    route = resolver.context.get("_route")  # set by the resolver for the matched route
    known = {param.alias for param in route.dependant.query_params} if route else set()
    unknown = sorted(set(resolver.current_event.query_string_parameters or {}) - known)
    if unknown:
        raise RequestValidationError(
            [{"loc": ("query", name), "msg": "Unknown query parameter", "type": "extra_forbidden"} for name in unknown]
        )
    return next_middleware(resolver)


app.use(middlewares=[reject_unknown_query_parameters])


# ---- routes ---------------------------------------------------------------------------------------------------


@app.get("/health", summary="Liveness; no token, no AWS call")
def health() -> Health:
    return Health(status="ok")


@app.post("/invoke", summary="Ask the model (Converse)", responses={200: {"description": "The answer"}, **ERRORS})
def invoke_post(body: InvokeRequest) -> InvokeResponse:
    return InvokeResponse.from_reply(call_model(body.to_conversation()))


@app.get(
    "/invoke", summary="Ask the model with a query string", responses={200: {"description": "The answer"}, **ERRORS}
)
def invoke_get(inputText: Annotated[Text, Query(max_length=MAX_QUERY_TEXT)]) -> InvokeResponse:  # noqa: N803
    return InvokeResponse.from_reply(call_model(InvokeRequest(prompt=inputText).to_conversation()))


@app.get("/models", summary="Models this gateway allows")
def models() -> ModelList:
    return ModelList(
        default=settings.default_model,
        models=list(settings.allowed_models),
        embeddingModels=list(settings.embedding_models),
    )


@app.get("/usage", summary="The calling key's limits and what it has used this minute and month")
def usage() -> dict[str, Any]:
    who = caller()
    if not who.managed:
        return {
            "keyId": who.key_id,
            "type": "root",
            "message": "Root keys (the SSM key ring) are unlimited; their use is metered in CloudWatch only.",
        }
    return metering.usage(who, metering.utcnow())


@app.post(
    "/v1/chat/completions",
    summary="OpenAI-compatible chat completion (tools, structured output, images; stream=true as one SSE body)",
    responses=shapes.responses(shapes.ChatCompletion, stream=True),
)
def chat_completions(body: ChatCompletionRequest) -> Response[str]:
    if body.user:
        logger.append_keys(openai_user=body.user[:128])
    plan = chat.to_plan(body)
    completion = chat.completion(call_model(plan.conversation), plan, request_id())
    if plan.stream:
        return Response(
            status_code=200,
            content_type=streaming.CONTENT_TYPE,
            body=streaming.from_completion(completion, plan.include_usage),
            headers={"Cache-Control": "no-cache"},
        )
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=json.dumps(completion))


@app.post(
    "/v1/embeddings",
    summary="OpenAI-compatible embeddings (Titan Text Embeddings v2, Cohere Embed v3)",
    responses=shapes.responses(shapes.EmbeddingList),
)
def create_embeddings(body: EmbeddingRequest) -> dict[str, Any]:
    return embeddings.response(model_calls.call_embeddings(caller(), body), body.encoding_format)


@app.get("/v1/models", summary="OpenAI-compatible model list", responses=shapes.responses(shapes.OpenAIModelList))
def openai_models() -> dict[str, Any]:
    return catalog.model_list(caller().may_use)


@app.get("/v1/models/<model_id>", summary="One model, if allowed", responses=shapes.responses(shapes.OpenAIModel))
def openai_model(model_id: str) -> dict[str, Any]:
    return catalog.retrieve(unquote(model_id), caller().may_use)


# ---- errors: every failure leaves through here -----------------------------------------------------------------


def error_payload(path: str, rid: str, err: GatewayError, **extra: Any) -> dict[str, Any]:
    """/v1 routes answer in OpenAI's error shape, the others with {message, requestId, ...}."""
    if path.startswith("/v1/"):
        return openai_error_body(err.message, err.kind, code=err.code, param=err.param)
    if err.code:
        extra["code"] = err.code  # e.g. model_not_allowed, rate_limit_exceeded, insufficient_quota
    return error_body(err.message, rid, **extra)


def error_response(err: GatewayError, **extra: Any) -> Response:
    body = error_payload(app.current_event.path, request_id(), err, **extra)
    return Response(
        status_code=err.status, content_type=content_types.APPLICATION_JSON, body=json.dumps(body), headers=err.headers
    )


@app.exception_handler(GatewayError)
def gateway_error(err: GatewayError) -> Response:
    log = logger.warning if err.status < 500 else logger.error
    log("Request failed", extra={"status": err.status, "reason": err.detail or err.message})
    return error_response(err)


@app.exception_handler(RequestValidationError)
def invalid_request(exc: RequestValidationError) -> Response:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return error_response(GatewayError(400, "Request body is not valid JSON.", kind="invalid_request_error"))
    fields = field_errors(errors)
    logger.info("Invalid request", extra={"errors": fields})
    if app.current_event.path.startswith("/v1/"):  # OpenAI clients expect 400 for invalid parameters
        return error_response(request_checks.openai_invalid(fields))
    return error_response(GatewayError(422, "Request is invalid.", kind="invalid_request_error"), errors=fields)


@app.not_found
def not_found(_: NotFoundError) -> Response:
    return error_response(GatewayError(404, "No such route.", kind="invalid_request_error", code="not_found"))


@app.exception_handler(Exception)
def unexpected(_: Exception) -> Response:
    logger.exception("Unexpected error")
    return error_response(GatewayError(500, "Internal error."))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    who = Caller.from_event(event)
    logger.append_keys(key_id=who.key_id, key_type="managed" if who.managed else "root")
    rid = (event.get("requestContext") or {}).get("requestId") or "-"
    rejected = request_checks.precheck(event)
    if rejected:
        logger.warning("Request refused", extra={"status": rejected.status, "reason": rejected.message})
        body = error_payload(event.get("rawPath") or "", rid, rejected)
        return {
            "statusCode": rejected.status,
            "headers": {"Content-Type": "application/json", "x-request-id": rid, **rejected.headers},
            "body": json.dumps(body),
            "isBase64Encoded": False,
        }
    app.append_context(caller=who)
    response = app.resolve(event, context)
    add_dimension_sets(who.key_id)
    response.setdefault("headers", {})["x-request-id"] = rid  # the SDK exposes it as response._request_id
    return response
