"""The stack-file loader: discover → template → parse → interpolate → merge → canonical → model → validate."""
