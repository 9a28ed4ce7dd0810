"""The ``alphazero`` console script: ``main`` and one module per subcommand."""

from alphazero.cli.main import main

__all__ = ["main"]
