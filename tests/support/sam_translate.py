"""Run with the tools venv's Python (it holds samtranslator): print template.yaml as CloudFormation
receives it from ``sam deploy``, i.e. after the AWS::Serverless-2016-10-31 transform.

The tests read this rather than template.yaml where SAM generates what they check (schedules and
their roles, the API's stage and gateway responses, event source mappings, function log settings).
"""

import json
import sys

from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator
from samtranslator.yaml_helper import yaml_parse


def main() -> None:
    template = yaml_parse(open(sys.argv[1]).read())
    for resource in template["Resources"].values():  # the transform wants packaged (S3) code locations
        props = resource.get("Properties") or {}
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str):
                props[key] = "s3://artifacts/" + props[key].strip("/") + ".zip"
    translated = Translator(managed_policy_map={}, sam_parser=Parser()).translate(template, parameter_values={})
    json.dump(translated, sys.stdout)


if __name__ == "__main__":
    main()
