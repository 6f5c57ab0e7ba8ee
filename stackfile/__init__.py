"""stackfile: one YAML project file in, a running, isolated, hot-reloading stack out."""

__version__ = "0.1.0"
