"""``python -m stackfile`` runs the CLI through the same entry point as the ``stackfile`` script
(its click-free fast paths first), so both behave alike and the tests exercise what users run."""

from stackfile.cli.project_fast import main

main()
