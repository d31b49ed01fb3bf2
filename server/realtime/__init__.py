"""Real-time delivery: per-socket send queues and the Redis pub/sub hub."""
