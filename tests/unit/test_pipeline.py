"""The deploy pipeline's shape (what check-jsonschema and zizmor cannot know) and the OIDC role's limits."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = yaml.safe_load((ROOT / ".github" / "workflows" / "pipeline.yml").read_text())
JOBS = WORKFLOW["jobs"]


class CfnLoader(yaml.SafeLoader):
    """CloudFormation's short tags as {"Fn::X": value} (enough to read the template's structure)."""


for tag in ("Ref", "Sub", "GetAtt", "If", "Equals", "Not", "Join", "Split", "Condition"):
    CfnLoader.add_constructor(
        f"!{tag}",
        lambda loader, node, tag=tag: {
            ("Ref" if tag == "Ref" else f"Fn::{tag}"): loader.construct_sequence(node)
            if isinstance(node, yaml.SequenceNode)
            else loader.construct_scalar(node)
        },
    )
ROLE = yaml.load((ROOT / "pipeline" / "oidc-role.yaml").read_text(), Loader=CfnLoader)  # noqa: S506 - safe loader subclass


def test_every_action_is_pinned_by_commit_sha() -> None:
    uses = [step["uses"] for job in JOBS.values() for step in job["steps"] if "uses" in step]
    assert uses and all(re.fullmatch(r"[\w-]+/[\w-]+@[0-9a-f]{40}", u) for u in uses), uses
    text = (ROOT / ".github" / "workflows" / "pipeline.yml").read_text()
    assert all(f"{u} # v" in text for u in uses)  # the version each SHA is, for the reader and for updates


def test_pull_requests_run_make_test_and_main_builds_once_then_promotes_the_same_build() -> None:
    assert set(WORKFLOW[True]) == {"pull_request", "push"}  # PyYAML reads `on` as True
    assert [s.get("run") for s in JOBS["test"]["steps"] if "run" in s] == ["make test"]
    assert JOBS["build"]["if"] == "github.event_name == 'push'" and JOBS["build"]["needs"] == "test"
    assert JOBS["deploy-dev"]["needs"] == "build"
    assert JOBS["integration-dev"]["needs"] == "deploy-dev"
    assert JOBS["deploy-prod"]["needs"] == "integration-dev"
    builds = [name for name, job in JOBS.items() if any(s.get("run") == "make build" for s in job["steps"])]
    assert builds == ["build"]
    for stage in ("deploy-dev", "deploy-prod"):
        steps = JOBS[stage]["steps"]
        assert any(s.get("uses", "").startswith("actions/download-artifact@") for s in steps)
        assert steps[-1]["run"] == f"make deploy-built SAM_ENV={stage.removeprefix('deploy-')}"


@pytest.mark.parametrize(("job", "stage"), [("deploy-dev", "dev"), ("integration-dev", "dev"), ("deploy-prod", "prod")])
def test_stages_are_environments_one_deploy_at_a_time_and_only_they_get_aws_tokens(job: str, stage: str) -> None:
    assert JOBS[job]["environment"] == stage  # prod's required reviewers are set on the environment
    assert JOBS[job]["concurrency"] == {"group": f"deploy-{stage}", "cancel-in-progress": False}
    assert JOBS[job]["permissions"] == {"contents": "read", "id-token": "write"}


def test_least_privilege_tokens() -> None:
    assert WORKFLOW["permissions"] == {}
    for name in ("test", "build"):
        assert JOBS[name]["permissions"] == {"contents": "read"}
    checkouts = [s for job in JOBS.values() for s in job["steps"] if s.get("uses", "").startswith("actions/checkout@")]
    assert all(s["with"]["persist-credentials"] is False for s in checkouts)


def role_statements() -> list[dict[str, Any]]:
    return ROLE["Resources"]["DeployRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]


def test_only_this_repositorys_dev_and_prod_environments_can_assume_the_role() -> None:
    (trust,) = ROLE["Resources"]["DeployRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    condition = trust["Condition"]["StringEquals"]
    assert condition["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"
    assert condition["token.actions.githubusercontent.com:sub"] == [
        {"Fn::Sub": "repo:${GitHubOrg}/${GitHubRepo}:environment:dev"},
        {"Fn::Sub": "repo:${GitHubOrg}/${GitHubRepo}:environment:prod"},
    ]
    assert "StringLike" not in trust["Condition"]  # no wildcards in the subject


def test_deploy_permissions_are_scoped_to_the_two_stacks() -> None:
    for statement in role_statements():
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        if statement["Sid"] == "NotResourceScopedByAws":
            assert resources == ["*"]
            assert set(statement["Action"]) <= {
                "cloudformation:ValidateTemplate",
                "logs:CreateLogDelivery",
                "logs:GetLogDelivery",
                "logs:UpdateLogDelivery",
                "logs:DeleteLogDelivery",
                "logs:ListLogDeliveries",
                "logs:DescribeLogGroups",
            }
            continue
        for resource in resources:
            text = str(resource)
            assert "*" not in text or any(
                stack in text for stack in ("${DevStackName}", "${ProdStackName}", "::/apis", "::/tags", "Bucket")
            ), (statement["Sid"], text)
    pass_role = next(s for s in role_statements() if s["Action"] == "iam:PassRole")
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}
    ssm = next(s for s in role_statements() if s["Sid"] == "IntegrationTestsReadTheDevTokenOnly")
    assert ssm["Action"] == "ssm:GetParameter" and "DevTokenParameterName" in str(ssm["Resource"])


def test_stack_names_match_samconfig_and_alarm_names() -> None:
    import tomllib

    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    assert ROLE["Parameters"]["DevStackName"]["Default"] == config["dev"]["global"]["parameters"]["stack_name"]
    assert ROLE["Parameters"]["ProdStackName"]["Default"] == config["prod"]["global"]["parameters"]["stack_name"]
    assert "/bedrock-gateway/dev/api-token" in config["dev"]["deploy"]["parameters"]["parameter_overrides"]
    assert ROLE["Parameters"]["DevTokenParameterName"]["Default"] == "/bedrock-gateway/dev/api-token"
