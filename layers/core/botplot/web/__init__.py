"""What every HTTP function shares: the app factory, auth dependencies, errors and limits.

This is the only part of the package that knows FastAPI; services below it do not.
"""
