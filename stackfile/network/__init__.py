"""stackfile.network."""
