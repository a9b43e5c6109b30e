"""Who lives near the hazard: distances to populated places, exposure, proximity checks."""
