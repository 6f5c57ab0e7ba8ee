"""stackfile.daemon."""
