"""Fails loudly when the private samcli APIs emulator.py relies on have moved (run with .venv-sam's Python)."""

from __future__ import annotations

import inspect
import sys


def main() -> int:
    from samcli.commands.local.cli_common.invoke_context import ContainersMode, InvokeContext
    from samcli.commands.local.lib.local_api_service import LocalApiService
    from samcli.commands.local.lib.local_lambda import LocalLambdaRunner
    from samcli.lib.utils.stream_writer import StreamWriter
    from samcli.local.apigw.local_apigw_service import LocalApigwService
    from samcli.local.lambdafn.config import FunctionConfig
    from samcli.local.lambdafn.runtime import LambdaRuntime

    problems = []

    def need(condition: bool, what: str) -> None:
        if not condition:
            problems.append(what)

    need({"WARM", "COLD"} <= set(ContainersMode.__members__), "ContainersMode.WARM/COLD")
    need(
        isinstance(inspect.getattr_static(InvokeContext, "_get_container_manager"), staticmethod),
        "InvokeContext._get_container_manager staticmethod",
    )
    need("_lambda_runtimes" in inspect.getsource(InvokeContext.lambda_runtime.fget), "InvokeContext._lambda_runtimes")
    need(
        "self.local_runtime.invoke(" in inspect.getsource(LocalLambdaRunner.invoke),
        "LocalLambdaRunner.invoke -> local_runtime.invoke",
    )
    runtime_params = list(inspect.signature(LambdaRuntime.invoke).parameters)
    need(
        runtime_params[:4] == ["self", "function_config", "event", "tenant_id"],
        f"LambdaRuntime.invoke {runtime_params}",
    )
    need({"stdout", "stderr"} <= set(runtime_params), "LambdaRuntime.invoke stdout/stderr")
    need("write_str" in dir(StreamWriter), "StreamWriter.write_str")
    need("clean_runtime_containers" in dir(LambdaRuntime), "LambdaRuntime.clean_runtime_containers (called on exit)")
    service_params = set(inspect.signature(LocalApiService.__init__).parameters)
    need(
        {"lambda_invoke_context", "port", "host", "static_dir", "disable_authorizer", "ssl_context"} <= service_params,
        f"LocalApiService.__init__ {service_params}",
    )
    need(
        "lambda_runner.invoke(" in inspect.getsource(LocalApigwService._invoke_lambda_function),
        "LocalApigwService._invoke_lambda_function",
    )
    from samcli.local.apigw import event_constructor, local_apigw_service

    need(
        local_apigw_service.construct_v2_event_http is event_constructor.construct_v2_event_http,
        "local_apigw_service imports construct_v2_event_http by name",
    )
    need(
        list(inspect.signature(event_constructor.construct_v2_event_http).parameters)[:3]
        == ["flask_request", "port", "binary_types"],
        "construct_v2_event_http(flask_request, port, binary_types)",
    )
    config_params = set(inspect.signature(FunctionConfig.__init__).parameters)
    need(
        {"name", "full_path", "handler", "code_abs_path", "memory", "timeout", "env_vars"} <= config_params,
        f"FunctionConfig {config_params}",
    )
    if problems:
        print("samcli internals moved; update local/emulator.py for: " + "; ".join(problems), file=sys.stderr)
        return 1
    print("samcli contract OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
