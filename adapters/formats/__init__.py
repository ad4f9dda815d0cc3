"""Readers for the genomic container formats: BGZF, BAM, CRAM, VCF and BCF."""
