"""stackfile.runtime.linux."""
