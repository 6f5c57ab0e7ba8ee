"""stackfile.client."""
