"""``template.yaml`` read as data: resources, routes, schedules and the functions' environment.

The local stack provisions from it and routes by it, so the template stays the single source of
truth for tables, queues, schedules and paths.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from botplot_dev import ROOT


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form intrinsics (``!Ref``, ``!GetAtt``, ``!Sub``...)."""


def _intrinsic(loader: _CfnLoader, tag_suffix: str, node: yaml.Node):
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if tag_suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


@lru_cache(maxsize=None)
def load(path: Path = ROOT / "template.yaml") -> dict:
    return yaml.load(path.read_text(), Loader=_CfnLoader)


def resources(kind: str, template: dict | None = None) -> dict[str, dict]:
    template = template or load()
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def parameter_defaults(template: dict | None = None) -> dict[str, str]:
    template = template or load()
    return {k: str(v.get("Default", "")) for k, v in template.get("Parameters", {}).items()}


@dataclass(frozen=True)
class Route:
    function: str
    method: str
    path: str
    pattern: re.Pattern = field(compare=False)


def _path_pattern(path: str) -> re.Pattern:
    regex = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path))
    return re.compile(f"^{regex}$")


def routes(template: dict | None = None) -> list[Route]:
    found = []
    for name, fn in resources("AWS::Serverless::Function", template).items():
        for event in (fn["Properties"].get("Events") or {}).values():
            if event["Type"] == "Api":
                props = event["Properties"]
                found.append(Route(name, props["Method"].upper(), props["Path"], _path_pattern(props["Path"])))
    return found


def code_dir(function: str, template: dict | None = None) -> Path:
    fn = resources("AWS::Serverless::Function", template)[function]
    return ROOT / fn["Properties"]["CodeUri"]


def events_of(function: str, kind: str, template: dict | None = None) -> list[dict]:
    fn = resources("AWS::Serverless::Function", template)[function]
    return [e["Properties"] for e in (fn["Properties"].get("Events") or {}).values() if e["Type"] == kind]


def environment(function: str | None = None, template: dict | None = None) -> dict:
    """Globals' variables, overlaid with one function's (or with every function's)."""
    template = template or load()
    env = dict(template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {}))
    functions = resources("AWS::Serverless::Function", template)
    for name in [function] if function else functions:
        env.update((functions[name]["Properties"].get("Environment") or {}).get("Variables", {}))
    return env
