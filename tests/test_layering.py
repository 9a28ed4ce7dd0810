"""The layers import one way: alphazero -> selfplay -> nets -> search -> games.

Every import of every module is read with ``ast``, those inside functions and
``TYPE_CHECKING`` blocks included, so a lazy import cannot hide a dependency that goes up.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {  # package -> top-level modules it must never import
    "games": {"search", "nets", "selfplay", "alphazero", "torch", "ray"},
    "search": {"nets", "selfplay", "alphazero", "torch", "ray"},
    "nets": {"selfplay", "alphazero", "ray"},
    "selfplay": {"alphazero"},
}


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, top-level module) of every absolute import in the file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            found.append((node.lineno, "<relative>"))
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_import_goes_up_a_layer(package):
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"no modules found in {package}/"
    bad = [f"{path.relative_to(ROOT)}:{line} imports {module}"
           for path in files for line, module in imports_of(path)
           if module in FORBIDDEN[package] or module == "<relative>"]
    assert not bad, "imports that go up a layer (or relative ones):\n" + "\n".join(bad)


def test_the_checker_sees_imports_inside_functions(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from alphazero.cli import main\n    import ray\n")
    assert imports_of(module) == [(2, "alphazero"), (3, "ray")]
