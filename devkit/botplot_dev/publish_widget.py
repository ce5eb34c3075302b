"""Publish ``widget.js`` to a deployed stack's assets bucket (served by its CloudFront distribution).

``make publish-widget STACK=botplot`` after ``sam deploy``. Two copies are written:

- ``widget/<sha256 prefix>/widget.js``: content-addressed, cached for a year as immutable. Pin this
  URL on a site that wants a change only when it opts in.
- ``widget/widget.js``: the current version, cached for 5 minutes (browsers and CloudFront), so a
  new release reaches every site that uses this URL within minutes, with no invalidation to pay for.

Uploading from the deploy machine (rather than from a custom resource in the template) keeps the
built file out of every Lambda package and needs no function of its own; the objects are plain S3
writes the deployer's credentials already allow. The snippet to paste is printed at the end.
"""

from __future__ import annotations

import argparse
import hashlib
import sys

from botplot_dev import ROOT

WIDGET = ROOT / "clients" / "js" / "dist" / "widget.js"
LATEST_CACHE = "public, max-age=300, s-maxage=300"
PINNED_CACHE = "public, max-age=31536000, immutable"


def publish(s3, bucket: str, data: bytes) -> dict[str, str]:
    """Upload both copies; return their keys."""
    digest = hashlib.sha256(data).hexdigest()[:16]
    keys = {"pinned": f"widget/{digest}/widget.js", "latest": "widget/widget.js"}
    for kind, key in (("pinned", keys["pinned"]), ("latest", keys["latest"])):
        s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType="text/javascript; charset=utf-8",
                      CacheControl=PINNED_CACHE if kind == "pinned" else LATEST_CACHE)
    return keys


def _outputs(stack: str) -> dict[str, str]:
    import boto3

    described = boto3.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Publish widget.js to a deployed stack's assets bucket")
    parser.add_argument("--stack", default="botplot")
    args = parser.parse_args(argv)
    import boto3

    outputs = _outputs(args.stack)
    keys = publish(boto3.client("s3"), outputs["AssetsBucketName"], WIDGET.read_bytes())
    assets, api = outputs["AssetsUrl"].rstrip("/"), outputs["ApiUrl"].rstrip("/")
    print(f"published {assets}/{keys['latest']} (5 min cache) and {assets}/{keys['pinned']} (immutable)")
    print("Snippet (the API's origin must be allowed by the site's connect-src):")
    print(f'<script src="{assets}/{keys["latest"]}" data-public-key="pk_..." data-api-url="{api}" async></script>')
    return 0


if __name__ == "__main__":
    sys.exit(main())
