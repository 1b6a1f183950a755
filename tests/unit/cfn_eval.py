"""Evaluate the CloudFormation intrinsics this template uses, for tests of what cfn-lint cannot check.

Written by hand: no library evaluates Fn::Sub/Join/Split/If offline with chosen parameter values. It covers
exactly the functions template.yaml uses and raises on anything else, so a new intrinsic fails loudly.
"""

from __future__ import annotations

import re
from typing import Any

PSEUDO = {
    "AWS::Region": "eu-west-1",
    "AWS::AccountId": "111122223333",
    "AWS::Partition": "aws",
    "AWS::StackName": "gw",
    "AWS::URLSuffix": "amazonaws.com",
}
NO_VALUE = object()


class Evaluator:
    def __init__(self, template: dict[str, Any], parameters: dict[str, Any]) -> None:
        self.template = template
        self.values: dict[str, Any] = {}
        for name, spec in template.get("Parameters", {}).items():
            value = parameters.get(name, spec.get("Default"))
            if spec.get("Type") == "CommaDelimitedList" and isinstance(value, str):
                value = value.split(",")
            self.values[name] = value
        self.conditions: dict[str, bool] = {}
        for name in template.get("Conditions", {}):
            self.named_condition(name)

    def named_condition(self, name: str) -> bool:
        """Conditions may use other conditions (`Condition: Name`): evaluated on first use."""
        if name not in self.conditions:
            self.conditions[name] = self.condition(self.template["Conditions"][name])
        return self.conditions[name]

    def condition(self, body: Any) -> bool:
        ((name, args),) = body.items()
        if name == "Fn::Not":
            return not self.condition(args[0])
        if name == "Fn::Equals":
            return self(args[0]) == self(args[1])
        if name == "Fn::And":
            return all(self.condition(arg) for arg in args)
        if name == "Fn::Or":
            return any(self.condition(arg) for arg in args)
        if name == "Condition":
            return self.named_condition(args)
        raise NotImplementedError(name)

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in PSEUDO:
            return PSEUDO[name]
        if name in self.values:
            return self.values[name]
        return f"{name}.Ref"

    def _sub(self, text: str, variables: dict[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            key = match.group(1)
            if key in variables:
                return str(variables[key])
            if "." in key:
                return key  # ${Resource.Attr}: keep a readable placeholder
            return str(self._ref(key))

        return re.sub(r"\$\{([^}!]+)\}", replace, text)

    def __call__(self, node: Any) -> Any:
        if isinstance(node, list):
            return [v for v in (self(item) for item in node) if v is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, args),) = node.items()
            if key == "Ref":
                return self._ref(args)
            if key == "Fn::Sub":
                if isinstance(args, str):
                    return self._sub(args, {})
                return self._sub(args[0], {k: self(v) for k, v in args[1].items()})
            if key == "Fn::Join":
                return args[0].join(str(v) for v in self(args[1]))
            if key == "Fn::Split":
                return self(args[1]).split(args[0])
            if key == "Fn::If":
                return self(args[1] if self.conditions[args[0]] else args[2])
            if key == "Fn::GetAtt":
                return ".".join(args) if isinstance(args, list) else args
            if key.startswith("Fn::"):
                raise NotImplementedError(key)
        return {k: v for k, v in ((k, self(v)) for k, v in node.items()) if v is not NO_VALUE}
