"""Regenerate the client's generated parts: ``botplot_client/models.py`` (typed models, by
datamodel-code-generator from ../../openapi.yaml) and ``botplot_client/_sync/client.py`` (the
synchronous client, by unasync from ``_async/client.py``). ``make clients`` runs it;
tests/clients/test_python_client.py fails when the committed files differ from what it writes.

    python generate.py [OUTPUT_DIR]   # default: this directory's botplot_client/
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import unasync

HERE = Path(__file__).resolve().parent
OPENAPI = HERE.parents[1] / "openapi.yaml"
HEADER = "# Generated from _async/client.py by clients/python/generate.py (unasync): edit that file, not this one.\n"
RENAMES = {"AsyncClient": "Client", "aclose": "close", "aread": "read", "aiter_lines": "iter_lines"}
ASYNC_CLASSES = ["AsyncBotPlot", "AsyncChat", "AsyncKnowledge", "AsyncConversations", "AsyncLeads", "AsyncAnalytics",
                 "AsyncProjects", "AsyncWebhooks"]


def generate(package: Path) -> None:
    subprocess.run([str(Path(sys.executable).parent / "datamodel-codegen"), "--input", str(OPENAPI),
                    "--input-file-type", "openapi", "--output-model-type", "typing.TypedDict",
                    "--formatters", "builtin", "--disable-timestamp", "--target-python-version", "3.11",
                    "--use-standard-collections", "--use-union-operator", "--custom-file-header",
                    "# Generated from openapi.yaml by clients/python/generate.py (datamodel-code-generator).",
                    "--output", str(package / "models.py")], check=True, capture_output=True)
    source = HERE / "botplot_client" / "_async" / "client.py"
    (package / "_sync").mkdir(parents=True, exist_ok=True)
    rule = unasync.Rule(fromdir=str(source.parent), todir=str(package / "_sync"),
                        additional_replacements={**RENAMES, **{name: name[5:] for name in ASYNC_CLASSES}})
    rule._unasync_file(str(source))
    target = package / "_sync" / "client.py"
    target.write_text(HEADER + target.read_text())


if __name__ == "__main__":
    generate(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "botplot_client")
