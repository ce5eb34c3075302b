"""A second cold-start reference: the hello world plus what every BotPlot function must load anyway
(Powertools Logger and Tracer, and a pynamodb model, i.e. botocore and the X-Ray SDK), whose one
route reads one DynamoDB item as an API key lookup does."""

from aws_lambda_powertools import Logger, Tracer
from fastapi import FastAPI
from mangum import Mangum
from pynamodb.attributes import UnicodeAttribute
from pynamodb.models import Model

logger = Logger(service="hello")
tracer = Tracer(patch_modules=("botocore",))


class Greeting(Model):
    class Meta:
        table_name = "botplot-projects"
        region = "us-east-1"

    projectId = UnicodeAttribute(hash_key=True)


app = FastAPI()


@app.get("/hello")
def hello() -> dict:
    try:
        Greeting.get("hello")
    except Greeting.DoesNotExist:
        pass
    return {"hello": "world"}


adapter = Mangum(app, lifespan="off")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event, context):
    return adapter(event, context)
