"""The cold-start baseline: a bare FastAPI + Mangum hello world."""

from fastapi import FastAPI
from mangum import Mangum

app = FastAPI()


@app.get("/hello")
def hello() -> dict:
    return {"hello": "world"}


handler = Mangum(app, lifespan="off")
