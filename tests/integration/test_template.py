"""template.yaml is the single source of truth: it lints, validates, builds, and the models agree."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from botplot.db.registry import MODELS_BY_LOGICAL_ID, env_suffix
from botplot_dev import template as tpl

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / ".venv-tools" / "bin"


def _tool(name: str) -> str:
    path = TOOLS / name
    if not path.exists():
        pytest.skip(f"{path} missing: run `make test` (it installs the tools venv)")
    return str(path)


def _keys(entries) -> list[tuple[str, str]]:
    """HASH first, then RANGE, as DynamoDB reads a key schema."""
    return sorted(((k["AttributeName"], k["KeyType"]) for k in entries), key=lambda k: k[1])


def _model_schema(model) -> dict:
    schema = model._get_schema()
    attrs = {(a["AttributeName"], a["AttributeType"]) for a in schema["attribute_definitions"]}
    keys = _keys(schema["key_schema"])
    indexes = {
        i["index_name"]: (_keys(i["key_schema"]),
                          i["projection"]["ProjectionType"])
        for i in schema.get("global_secondary_indexes", [])
    }
    ttl = [a.attr_name for a in model.get_attributes().values() if type(a).__name__ == "TTLAttribute"]
    return {"attrs": attrs, "keys": keys, "indexes": indexes, "ttl": ttl[0] if ttl else None}


def _template_schema(props: dict) -> dict:
    ttl = props.get("TimeToLiveSpecification")
    return {
        "attrs": {(a["AttributeName"], a["AttributeType"]) for a in props["AttributeDefinitions"]},
        "keys": _keys(props["KeySchema"]),
        "indexes": {i["IndexName"]: (_keys(i["KeySchema"]),
                                     i["Projection"]["ProjectionType"])
                    for i in props.get("GlobalSecondaryIndexes", [])},
        "ttl": ttl["AttributeName"] if ttl else None,
    }


@pytest.mark.parametrize("logical_id", sorted(MODELS_BY_LOGICAL_ID))
def test_models_and_template_tables_agree(logical_id):
    tables = tpl.resources("AWS::DynamoDB::Table")
    assert logical_id in tables, f"{logical_id} has a model but no table in template.yaml"
    assert _model_schema(MODELS_BY_LOGICAL_ID[logical_id]) == _template_schema(tables[logical_id]["Properties"])


def test_every_template_table_is_named_to_the_functions():
    env = tpl.environment()
    for logical_id in tpl.resources("AWS::DynamoDB::Table"):
        assert env.get(f"BOTPLOT_TABLE_{env_suffix(logical_id)}") == {"Ref": logical_id}
        assert logical_id in MODELS_BY_LOGICAL_ID or logical_id == "IdempotencyTable"


def test_every_table_has_point_in_time_recovery_and_on_demand_billing():
    for logical_id, table in tpl.resources("AWS::DynamoDB::Table").items():
        props = table["Properties"]
        assert props["BillingMode"] == "PAY_PER_REQUEST", logical_id
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True, logical_id
        assert props["DeletionProtectionEnabled"] == {"Ref": "TableDeletionProtection"}, logical_id


def test_cfn_lint_passes():
    result = subprocess.run([_tool("cfn-lint"), "template.yaml"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_sam_validate_lint_passes():
    result = subprocess.run([_tool("sam"), "validate", "--lint", "--region", "us-east-1"], cwd=ROOT,
                            capture_output=True, text=True, env={**os.environ, "SAM_CLI_TELEMETRY": "0"})
    assert result.returncode == 0, result.stdout + result.stderr
