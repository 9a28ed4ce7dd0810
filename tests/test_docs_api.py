"""The examples of docs/api.md run as they are written, each on its own, from a directory
outside the repository, so the document cannot fall behind the code.

A ```python block runs in a fresh interpreter; one preceded by the line
``<!-- test_docs_api: slow -->`` (the training example, which starts Ray) only with the
slow tests.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parent.parent / "docs" / "api.md"
SLOW_MARK = "<!-- test_docs_api: slow -->"


def python_blocks(text: str) -> list[tuple[int, str, bool]]:
    """(line of the opening fence, code, slow?) of every ```python block, in order."""
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        if lines[i].strip() == "```python":
            start = i
            end = next(j for j in range(i + 1, len(lines)) if lines[j].strip() == "```")
            before = next((lines[j].strip() for j in range(start - 1, -1, -1)
                           if lines[j].strip()), "")
            blocks.append((start + 1, "\n".join(lines[start + 1:end]) + "\n", before == SLOW_MARK))
            i = end
        i += 1
    return blocks


BLOCKS = python_blocks(DOC.read_text(encoding="utf-8"))


def run_block(line: int, code: str, cwd: Path, timeout: float) -> subprocess.CompletedProcess:
    # Blank lines in front keep the traceback's line numbers those of docs/api.md.
    source = "\n" * line + code
    runner = ("import sys; source = sys.stdin.read(); "
              "exec(compile(source, 'docs/api.md', 'exec'), {'__name__': '__main__'})")
    return subprocess.run([sys.executable, "-c", runner], input=source, cwd=cwd,
                          capture_output=True, text=True, timeout=timeout, check=False)


def test_the_document_has_examples():
    assert len([b for b in BLOCKS if not b[2]]) >= 4
    assert any(slow for *_, slow in BLOCKS)


def examples(slow: bool):
    chosen = [(line, code) for line, code, is_slow in BLOCKS if is_slow == slow]
    return pytest.mark.parametrize("line, code", chosen,
                                   ids=[f"api.md:{line}" for line, _ in chosen])


@examples(slow=False)
def test_example_runs(line, code, tmp_path):
    proc = run_block(line, code, tmp_path, timeout=120)
    assert proc.returncode == 0, f"docs/api.md:{line} failed:\n{proc.stderr[-3000:]}"
    assert proc.stdout.strip(), "an example shows what it computes"


@pytest.mark.slow
@examples(slow=True)
def test_slow_example_runs(line, code, tmp_path):
    proc = run_block(line, code, tmp_path, timeout=400)
    assert proc.returncode == 0, f"docs/api.md:{line} failed:\n{proc.stderr[-3000:]}"
    assert "Token authentication" not in proc.stderr
