"""Adapters: storage backends, genomic file formats and indexes, chain engines.

Nothing in this package imports the web framework; the service and domain
layers call into it, never the other way round.
"""
