"""The pipeline: the only code that opens a workspace and drives a whole job.

Data flows one way (see ``docs/architecture.md``): the CLI, the README demo and notebooks call
these; they read files and the ledger, call the pure builders (:mod:`parcelwatch.rules`,
:mod:`parcelwatch.maps`, :mod:`parcelwatch.exports`, :mod:`parcelwatch.imagery`) and write.

* :mod:`~parcelwatch.pipeline.inputs` - :func:`load_inputs`, :func:`classify_inputs`,
  :func:`write_classification` (``parcelwatch classify``);
* :mod:`~parcelwatch.pipeline.workspace` - :func:`init_workspace` (ledger + QGIS styles);
* :mod:`~parcelwatch.pipeline.reference` - the registered reference layers (``reference add``);
* :mod:`~parcelwatch.pipeline.batch` - :func:`check_batch` (回头看) and :class:`CheckSummary`;
* :mod:`~parcelwatch.pipeline.imagery` - :func:`analyse_imagery` (影像佐证 over a workspace);
* :mod:`~parcelwatch.pipeline.outputs` - :func:`write_map`, :func:`export`, :func:`export_all`;
* :mod:`~parcelwatch.pipeline.explore` - :func:`~parcelwatch.pipeline.explore.explore`, a folium map for
  notebooks (``parcelwatch.explore``);
* :mod:`~parcelwatch.pipeline.demo` - the README demo, end to end.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from parcelwatch.io.layers import LayerSource
from parcelwatch.pipeline.inputs import (
    Inputs,
    classify_inputs,
    load_inputs,
    working_zone,
    write_classification,
)

if TYPE_CHECKING:
    from parcelwatch.pipeline.batch import CheckSummary, check_batch
    from parcelwatch.pipeline.imagery import ImageryResult, analyse_imagery
    from parcelwatch.pipeline.outputs import (
        LedgerData,
        export,
        export_all,
        read_ledger,
        write_map,
    )
    from parcelwatch.pipeline.workspace import init_workspace

# The ledger, maps and exports are imported on first use, so that ``import parcelwatch`` (and
# every CLI start) stays as light as reading layers needs.
_LAZY = {
    "CheckSummary": "batch",
    "check_batch": "batch",
    "ImageryResult": "imagery",
    "analyse_imagery": "imagery",
    "LedgerData": "outputs",
    "export": "outputs",
    "export_all": "outputs",
    "read_ledger": "outputs",
    "write_map": "outputs",
    "init_workspace": "workspace",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'parcelwatch.pipeline' has no attribute {name!r}")
    return getattr(importlib.import_module(f"parcelwatch.pipeline.{module}"), name)


__all__ = [
    "LayerSource",
    "Inputs",
    "load_inputs",
    "working_zone",
    "classify_inputs",
    "write_classification",
    "init_workspace",
    "check_batch",
    "CheckSummary",
    "analyse_imagery",
    "ImageryResult",
    "LedgerData",
    "read_ledger",
    "write_map",
    "export",
    "export_all",
]
