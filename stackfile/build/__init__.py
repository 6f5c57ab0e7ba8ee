"""stackfile.build."""
