"""Parsers and region queries for BAI, CSI, TBI, CRAI and GZI indexes."""
