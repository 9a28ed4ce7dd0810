"""``python -m alphazero``: the ``alphazero`` command."""

import sys

from alphazero.cli import main

sys.exit(main())
