"""Deterministic sample data: a BAM with its BAI and a bgzipped VCF with its TBI.

`consentry serve` uses these to create a demo dataset when no data is
configured, and benchmarks use them for inputs of a chosen size. They are
pure Python, so neither needs samtools or htslib at run time.
"""

from adapters.formats.synthetic_bam import write_sample_bam
from adapters.formats.synthetic_vcf import write_sample_vcf

__all__ = ["write_sample_bam", "write_sample_vcf"]
