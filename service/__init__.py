"""Consentry's service layer: configuration, the htsget core, HTTP handlers and the CLI."""
