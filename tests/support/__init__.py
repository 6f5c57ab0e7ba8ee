"""Helpers shared by the test suites (busybox layers, root checks)."""
