"""Rerunnable benchmarks of Consentry's htsget service, recorded in docs/benchmarks.md."""
