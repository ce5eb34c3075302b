"""The template's values as CloudFormation would resolve them for one stack of the twin.

Parameters take their defaults (or the given overrides), conditions are evaluated, and every
resource gets the physical name or attribute it has here: tables, queues and the bucket as moto
created them; the rest (search domain, distribution, layers) as CloudFormation would name them in
account 123456789012 (moto's), region us-east-1, stack ``botplot``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from botplot_dev import template as tpl
from botplot_dev.provision import Provisioned

ACCOUNT = "123456789012"
STACK = "botplot"


@dataclass
class Stack:
    provisioned: Provisioned
    overrides: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        self.template = self.provisioned.template
        self.region = self.provisioned.region
        self.parameters = {**tpl.parameter_defaults(self.template), **self.overrides}
        self.pseudo = {"AWS::Region": self.region, "AWS::AccountId": ACCOUNT, "AWS::Partition": "aws",
                       "AWS::StackName": STACK, "AWS::URLSuffix": "amazonaws.com", "AWS::NoValue": None}
        self.conditions = {name: self.resolve(value)
                           for name, value in (self.template.get("Conditions") or {}).items()}

    # ------------------------------------------------------------------ references
    def ref(self, name: str):
        if name in self.parameters:
            return self.parameters[name]
        if name in self.pseudo:
            return self.pseudo[name]
        p = self.provisioned
        for known in (p.tables, p.queue_urls, p.buckets, p.secrets):
            if name in known:
                return known[name]
        kind = self.template["Resources"][name]["Type"]
        if kind == "AWS::Serverless::LayerVersion":
            return f"arn:aws:lambda:{self.region}:{ACCOUNT}:layer:{name}:1"
        if kind == "AWS::OpenSearchService::Domain":
            return self.search_domain_name
        return f"{STACK}-{name}"  # functions, topics, APIs...: a name of the stack's

    @property
    def search_domain_name(self) -> str:
        return f"{STACK}-searchdomain"

    def get_att(self, name: str, attribute: str):
        p = self.provisioned
        kind = self.template["Resources"][name]["Type"]
        if kind == "AWS::SQS::Queue":
            return {"Arn": p.queue_arns[name], "QueueName": p.queue_names[name], "QueueUrl": p.queue_urls[name]}[attribute]
        if kind == "AWS::DynamoDB::Table" and attribute == "Arn":
            return f"arn:aws:dynamodb:{self.region}:{ACCOUNT}:table/{p.tables[name]}"
        if kind == "AWS::DynamoDB::Table" and attribute == "StreamArn":
            return p.stream_arns[name]
        if kind == "AWS::S3::Bucket":
            bucket = p.buckets[name]
            return {"Arn": f"arn:aws:s3:::{bucket}", "RegionalDomainName": f"{bucket}.s3.{self.region}.amazonaws.com",
                    "DomainName": f"{bucket}.s3.amazonaws.com"}[attribute]
        if kind == "AWS::OpenSearchService::Domain":
            domain = self.search_domain_name
            return {"Arn": f"arn:aws:es:{self.region}:{ACCOUNT}:domain/{domain}",
                    "DomainArn": f"arn:aws:es:{self.region}:{ACCOUNT}:domain/{domain}",
                    "DomainEndpoint": f"search-{domain}-twin.{self.region}.es.amazonaws.com"}[attribute]
        if kind == "AWS::CloudFront::Distribution" and attribute == "DomainName":
            return "d1twin0example.cloudfront.net"
        raise KeyError(f"the twin does not know {name}.{attribute} ({kind})")

    # ------------------------------------------------------------------ intrinsics
    def resolve(self, value):
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) != 1:
            return {k: self.resolve(v) for k, v in value.items()}
        (name, arg), = value.items()
        if name == "Ref":
            return self.ref(arg)
        if name == "Fn::GetAtt":
            resource, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
            return self.get_att(resource, attribute)
        if name == "Fn::Sub":
            text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))
            return self._sub(text, variables)
        if name == "Fn::If":
            condition, yes, no = arg
            return self.resolve(yes if self.conditions[condition] else no)
        if name == "Fn::Equals":
            left, right = self.resolve(arg)
            return str(left) == str(right)
        if name == "Fn::Not":
            return not self.resolve(arg[0])
        if name == "Fn::And":
            return all(self.resolve(arg))
        if name == "Fn::Or":
            return any(self.resolve(arg))
        if name == "Condition":
            return self.conditions[arg]
        if name == "Fn::Join":
            separator, items = arg
            return separator.join(str(i) for i in self.resolve(items))
        if name == "Fn::Split":
            separator, text = arg
            return str(self.resolve(text)).split(separator)
        if name == "Fn::Select":
            index, items = arg
            return self.resolve(items)[int(self.resolve(index))]
        if name.startswith("Fn::"):
            raise ValueError(f"the twin cannot resolve {name}")
        return {name: self.resolve(arg)}

    def _sub(self, text: str, variables: dict) -> str:
        def replace(match: re.Match) -> str:
            token = match.group(1)
            if token.startswith("!"):
                return "${" + token[1:] + "}"
            if token in variables:
                return str(variables[token])
            if "." in token and token.split(".", 1)[0] in self.template["Resources"]:
                return str(self.get_att(*token.split(".", 1)))
            return str(self.ref(token))

        return re.sub(r"\$\{([^}]+)\}", replace, text)

    # ------------------------------------------------------------------ functions
    def functions(self) -> dict[str, dict]:
        return tpl.resources("AWS::Serverless::Function", self.template)

    def environment(self, function: str) -> dict[str, str]:
        """Globals' variables overlaid with the function's, resolved."""
        return {name: str(self.resolve(value)) for name, value in tpl.environment(function, self.template).items()}

    def function_property(self, function: str, name: str, default=None):
        own = self.functions()[function]["Properties"]
        globals_ = (self.template.get("Globals") or {}).get("Function") or {}
        return own.get(name, globals_.get(name, default))

    def layers(self, function: str) -> list:
        """Globals' layers first, then the function's own (SAM's order), as template values."""
        globals_ = ((self.template.get("Globals") or {}).get("Function") or {}).get("Layers") or []
        return list(globals_) + list(self.functions()[function]["Properties"].get("Layers") or [])
