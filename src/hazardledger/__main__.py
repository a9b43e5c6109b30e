"""``python -m hazardledger``: the ``hazardledger`` command."""

from hazardledger.cli import main

main()
