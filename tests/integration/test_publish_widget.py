"""Serving the widget in AWS: `make publish-widget` uploads widget.js to the assets bucket, and the
template lets CloudFront (and nothing else) read it there."""

from __future__ import annotations

import os

import boto3

from botplot_dev import template as tpl
from botplot_dev.publish_widget import LATEST_CACHE, PINNED_CACHE, WIDGET, publish


def test_publish_writes_a_pinned_and_a_latest_copy(moto_endpoint):
    s3 = boto3.client("s3", endpoint_url=moto_endpoint)
    bucket = os.environ["BOTPLOT_ASSETS_BUCKET"]
    data = WIDGET.read_bytes()
    keys = publish(s3, bucket, data)
    assert keys["latest"] == "widget/widget.js" and keys["pinned"].startswith("widget/")
    for key, cache in ((keys["latest"], LATEST_CACHE), (keys["pinned"], PINNED_CACHE)):
        stored = s3.get_object(Bucket=bucket, Key=key)
        assert stored["Body"].read() == data
        assert stored["CacheControl"] == cache and stored["ContentType"].startswith("text/javascript")
    assert publish(s3, bucket, data + b"\n")["pinned"] != keys["pinned"]  # a new build, a new pinned URL


def test_cloudfront_alone_reads_the_widget_from_the_bucket():
    resources = tpl.load()["Resources"]
    statement, = resources["AssetsBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert statement["Action"] == "s3:GetObject"
    assert {"Fn::Sub": "${AssetsBucket.Arn}/widget/*"} in statement["Resource"]
    assert "AWS:SourceArn" in statement["Condition"]["StringEquals"]
    assert resources["AssetsBucket"]["Properties"]["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] is True
