"""``python -m stackfile`` runs the CLI."""

from stackfile.cli.main import main

main()
