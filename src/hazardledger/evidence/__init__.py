"""Learning from field evidence: what findings say about self-destruct and self-deactivation."""
