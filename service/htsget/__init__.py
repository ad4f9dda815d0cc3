"""The framework-free htsget core: queries, object resolution, byte-range search and tickets."""
