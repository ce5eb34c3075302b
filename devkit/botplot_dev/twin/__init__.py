"""The Lambda twin: functions run as Lambda runs what ``sam build`` ships (tests/integration/test_lambda_twin.py)."""
