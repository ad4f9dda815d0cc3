"""GA4GH DRS 1.5: the object registry, DrsObject rendering and the DRS operations."""
