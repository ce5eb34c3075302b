"""Analytics group (secret key): conversations, messages, visitors and trends; ratings; knowledge gaps."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from botplot.services import analytics, gaps
from botplot.services.auth import Principal
from botplot.web import schemas
from botplot.web.app import API_PREFIX, create_app
from botplot.web.deps import AuthFirstRoute, secret_key
from botplot.web.handlers import mangum_handler

router = APIRouter(prefix=API_PREFIX, tags=["analytics"], responses=schemas.COMMON_ERRORS,
                   route_class=AuthFirstRoute)
Caller = Annotated[Principal, Depends(secret_key)]
Period = Annotated[Literal["7d", "30d", "90d"], Query(description='"7d", "30d", or "90d" (default "30d")')]


@router.get("/analytics", response_model=schemas.AnalyticsResponse)
def get_analytics(caller: Caller, period: Period = "30d") -> dict:
    """Get project analytics: conversations, messages, visitors, and trends."""
    return analytics.overview(caller.project_id, period)


@router.get("/analytics/ratings", response_model=schemas.RatingsResponse)
def get_ratings(caller: Caller, period: Period = "30d") -> dict:
    """Get customer satisfaction ratings summary and trends."""
    return analytics.ratings(caller.project_id, period)


@router.get("/analytics/gaps", response_model=schemas.GapsResponse)
def get_gaps(caller: Caller, period: Period = "30d",
             limit: Annotated[int, Query(ge=1, le=50, description="Groups to list (default 20, max 50)")] = 20,
             ) -> dict:
    """Knowledge gaps: the visitors' questions the bot could not answer (below the confidence
    threshold, or rated down), grouped when they ask the same thing in other words, most frequent
    first, each with a suggested question for a Q&A pair. Adding a Q&A pair that answers a group
    takes it off the list."""
    return gaps.report(caller.project_id, analytics.period_days(period), limit)


app = create_app(router, service="analytics", title="BotPlot analytics")
handler = mangum_handler(app)
