"""Residual hazard: survival of the "can function" state, aggregation and uncertainty."""
