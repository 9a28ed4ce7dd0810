"""The packages' faces: every name in ``__all__`` resolves, and importing a package does not
import torch or Ray (their names load on first use)."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import textwrap

import pytest

PACKAGES = ("games", "search", "nets", "selfplay", "alphazero", "alphazero.train",
            "alphazero.eval", "alphazero.learned", "alphazero.ablate", "alphazero.play",
            "alphazero.uci", "alphazero.cli")


@pytest.mark.parametrize("package", PACKAGES)
def test_every_exported_name_resolves(package):
    module = importlib.import_module(package)
    assert module.__all__, f"{package} exports nothing"
    assert len(set(module.__all__)) == len(module.__all__), f"{package}.__all__ repeats a name"
    missing = [name for name in module.__all__ if getattr(module, name, None) is None]
    assert not missing, f"{package}.__all__ names what it does not have: {missing}"
    assert set(module.__all__) <= set(dir(module))


def test_unknown_names_raise_attribute_error():
    import nets

    with pytest.raises(AttributeError, match="no attribute 'PolicyValueNetwork'"):
        nets.PolicyValueNetwork  # noqa: B018


def test_importing_the_packages_imports_neither_torch_nor_ray():
    script = textwrap.dedent(f"""
        import importlib, json, sys
        for package in {PACKAGES!r}:
            importlib.import_module(package)
        print(json.dumps(sorted(m for m in ("torch", "ray") if m in sys.modules)))
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1]) == []


def test_version_comes_from_the_package_metadata():
    from importlib.metadata import PackageNotFoundError, version

    import alphazero

    try:
        expected = version(alphazero.DISTRIBUTION)
    except PackageNotFoundError:
        expected = "0+unknown"
    assert alphazero.__version__ == expected
