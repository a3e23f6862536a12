"""Write a command's output files so that nothing planted in the output folder is followed.

``cfz export adam --out DIR`` and ``cfz report --out DIR`` used to open ``DIR/<name>`` for
writing: a symbolic link planted there (``DIR/adsl.xpt -> ~/.bashrc``) had its *target*
overwritten. Opening for writing follows links; renaming onto a name replaces the link
itself.

Steps of ``staged_output``:
1. create the output folder when missing, and a new private folder beside it
   (``.<name>.<random>.new``, mode 0700, made with ``mkdtemp``: nobody can have planted
   anything in it);
2. the caller writes every file into that folder;
3. when the caller is done without error, each file is renamed into the output folder
   (``os.replace``: an existing entry of that name, a symbolic link included, is replaced,
   never followed; a directory of that name is refused); other entries of the output
   folder are left alone;
4. the private folder is removed, also on error (the output folder then keeps what it had).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def staged_output(out_dir: Path) -> Iterator[Path]:
    """Yield a fresh folder to write into; rename its files into ``out_dir`` on success."""
    out_dir = Path(out_dir).absolute()
    out_dir.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".new", dir=out_dir.parent))
    try:
        yield stage
        for entry in sorted(stage.iterdir()):
            os.replace(entry, out_dir / entry.name)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
