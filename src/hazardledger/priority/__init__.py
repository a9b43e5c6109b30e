"""Ranking of hazard areas and communities, with every factor shown."""
