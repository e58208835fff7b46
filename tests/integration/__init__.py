"""Black-box tests: Pizza 42 under gunicorn, over real HTTP, against a DynamoDB emulator in its own process."""
