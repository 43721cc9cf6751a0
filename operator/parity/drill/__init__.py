"""Failover drills: write through the primary, kill it, measure the gap and verify every
acknowledged write survived (Patroni: `run_patroni_drill`, Redis Sentinel: `run_redis_drill`)."""
