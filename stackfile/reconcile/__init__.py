"""stackfile.reconcile."""
