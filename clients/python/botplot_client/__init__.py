"""Python client for the BotPlot API, on httpx, synchronous and asynchronous.

    from botplot_client import BotPlot

    with BotPlot(api_key="sk_...", base_url="http://127.0.0.1:3000") as bot:
        bot.knowledge.add_url("https://example.com/docs")
        for event in bot.chat.stream("How do I get started?"):
            if event["type"] == "token":
                print(event["content"], end="")
        for lead in bot.leads.iter(search="example.com"):
            print(lead["email"])

``AsyncBotPlot`` has the same methods, awaited (``async for`` over streams and ``iter``).
Answers are the API's JSON, typed by ``botplot_client.models`` (generated from openapi.yaml);
errors are :class:`BotPlotError` subclasses with ``status`` and ``code``.
"""

from botplot_client import models
from botplot_client._async.client import OPERATIONS, AsyncBotPlot
from botplot_client._sync.client import BotPlot
from botplot_client.errors import (AuthenticationError, BotPlotError, ConnectionError, NotFoundError,
                                   PermissionDeniedError, RateLimitError, ServerError, ValidationError)
from botplot_client.events import DoneEvent, ErrorEvent, StreamEvent, TokenEvent

__all__ = ["OPERATIONS", "AsyncBotPlot", "AuthenticationError", "BotPlot", "BotPlotError", "ConnectionError",
           "DoneEvent", "ErrorEvent", "NotFoundError", "PermissionDeniedError", "RateLimitError", "ServerError",
           "StreamEvent", "TokenEvent", "ValidationError", "models"]
