"""The Pizza 42 benchmark (`make bench`): throughput, latency, CPU and DynamoDB requests per call under wrk."""
