"""Province scale: every county of a province in one run, one dask.distributed task per county.

* :mod:`.store`: county deliveries packed into GeoParquet partitioned by county code, read by
  county (parcels) or by extent (reference layers);
* :mod:`.task`: the county task, the county pipeline's own classification (no dask here);
* :mod:`.run`: the dask client, version checks, per-county atomic and resumable results;
* :mod:`.summary`: the province summary by county and class (Excel, GeoPackage);
* :mod:`.writeback`: each county's problems into its ledger workspace.

Importing this package does not import dask; :func:`province_client` and :func:`run_province` do.
"""

from parcelwatch.province.run import (
    ProvinceError,
    ProvinceRun,
    check_versions,
    done_counties,
    province_client,
    read_results,
    run_province,
)
from parcelwatch.province.store import (
    DEFAULT_LAYERS,
    PackReport,
    ProvinceStore,
    pack_frames,
    pack_province,
)
from parcelwatch.province.summary import province_summary, write_summary_gpkg, write_summary_xlsx
from parcelwatch.province.task import CountyResult, county_inputs, county_task, environment
from parcelwatch.province.writeback import WriteBack, write_back

__all__ = [
    "DEFAULT_LAYERS",
    "CountyResult",
    "PackReport",
    "ProvinceError",
    "ProvinceRun",
    "ProvinceStore",
    "WriteBack",
    "check_versions",
    "county_inputs",
    "county_task",
    "done_counties",
    "environment",
    "pack_frames",
    "pack_province",
    "province_client",
    "province_summary",
    "read_results",
    "run_province",
    "write_back",
    "write_summary_gpkg",
    "write_summary_xlsx",
]
