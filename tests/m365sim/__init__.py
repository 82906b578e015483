"""A simulated Microsoft 365 tenant (identity platform + Graph v1.0) for tests, the demo and
benchmarks; see README.md in this folder."""
