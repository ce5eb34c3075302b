"""BotPlot's domain code, shared by every Lambda function through the core layer.

Nothing here knows which HTTP framework or which environment it runs in: what differs between
AWS, the local stack and tests is configuration (see :mod:`botplot.config`).
"""
