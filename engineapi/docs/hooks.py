"""MkDocs hooks: the reference pages, generated from the code on every build.

`engineapi._codegen.reference` makes them; nothing generated is written into the sources.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

# The repository root: the engineapi being documented is the one beside these sources.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from engineapi._codegen import reference


def on_config(config: Any) -> Any:
    config["nav"].append({"Reference": reference.nav()})
    return config


def on_files(files: Any, config: Any) -> Any:
    from mkdocs.structure.files import File

    for path, text in reference.pages().items():
        files.append(File.generated(config, path, content=text))
    return files
