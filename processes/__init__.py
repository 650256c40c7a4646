"""The shipped processes, one package each, and the demo organisation (`demo.py`).

`processes/<key>/` holds everything one process is: its BPMN (and DMN) files, drawn so that they
open in the designer; its operations (`operations.py`, the service tasks' invoked applications);
and, in its `__init__.py`, the `ProcessParts` it registers with the engine (engine.process_parts):
worklist columns, the cards of the task page, English names, its rules. Importing this package
imports every process package, so a fourth process is a new folder and nothing else.

Process packages may import `engine` and `store`; never `webui` or Flask (tests/test_layering.py).
The engine never imports them: they register themselves, as operations do.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def load() -> tuple[ModuleType, ...]:
    """Import every process package in this folder; each registers its parts as it is imported."""
    found = sorted(m.name for m in pkgutil.iter_modules(__path__) if m.ispkg)
    return tuple(importlib.import_module(f"{__name__}.{name}") for name in found)


PACKAGES = load()
