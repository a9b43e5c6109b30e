"""Land release accounting: what survey and clearance released, what was found, and the
hazard area still open, per period (:mod:`.accounting`)."""
