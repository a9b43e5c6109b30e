"""``python -m hazardledger.cli``: the command, as the ``hazardledger`` script runs it."""

from . import main

main()
