"""Execute notebooks in quick mode and store only the outputs nbval checks.

    python tools/refresh_checked_outputs.py notebooks/02_gram_matrices.ipynb [...]

Run it after editing a notebook: every cell loses its outputs and execution count, except cells
marked `# NBVAL_CHECK_OUTPUT`, which keep the text output of this run and its execution count
(nbval's reference; tests/test_notebooks.py enforces exactly this). Prints each notebook's seconds.
"""
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
MARK = "# NBVAL_CHECK_OUTPUT"


def strip(nb, keep_checked: bool = True):
    """Drop outputs and counts, keeping the text outputs of checked cells (figures never), and the
    widget state that executing stores in the notebook's metadata (hundreds of kB, useless in git)."""
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        checked = keep_checked and cell.source.lstrip().startswith(MARK)
        if checked:
            cell.outputs = [o for o in cell.outputs if o.output_type == "stream" or "text/plain" in o.get("data", {})]
            for output in cell.outputs:
                if output.output_type != "stream":
                    output.data = {"text/plain": output.data["text/plain"]}
                    output.metadata = {}
        else:
            cell.outputs, cell.execution_count = [], None
        cell.metadata.pop("execution", None)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def refresh(path: Path) -> float:
    nb = nbformat.read(path, as_version=4)
    os.environ.update(STYLELIB_MODE="quick", MPLBACKEND="Agg", PYTHONPATH=str(ROOT))
    start = time.perf_counter()
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    seconds = time.perf_counter() - start
    nbformat.write(strip(nb), path)
    return seconds


if __name__ == "__main__":
    for name in sys.argv[1:]:
        print(f"{name}: executed in {refresh(Path(name)):.1f} s (quick mode)")
