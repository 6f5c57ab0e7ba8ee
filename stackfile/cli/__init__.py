"""Command-line interface (click and rich live only here)."""
