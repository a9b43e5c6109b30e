"""Field intake: forms for phones (XLSForm), and the submissions they send."""
