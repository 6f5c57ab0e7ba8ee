"""stackfile.watch."""
