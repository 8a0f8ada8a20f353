"""A province run on dask.distributed: one task per county, results written per county.

* One task per county, largest county first (highest priority), ``retries`` for exceptions (a
  read error on shared storage); a worker that dies is replaced by its nanny and the scheduler
  reruns its task elsewhere.
* Each county's result is written as it lands, by this (the client) process only, into
  ``OUT/counties/xzqdm=<code>/`` through a temporary folder renamed into place: a county is either
  complete or absent, and never written twice. A rerun computes only the missing counties.
* Before anything runs, every worker's parcelwatch, GEOS and PROJ versions must equal the
  client's (and dask's own package check must pass): different GEOS builds give different areas.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyarrow.parquet as pq

from parcelwatch.atomic import write_text_atomic
from parcelwatch.config import DEFAULT_RULES, Rules
from parcelwatch.errors import OutputError, ParcelwatchError
from parcelwatch.province.store import KEY, ProvinceStore, check_batch_name
from parcelwatch.province.task import ENV_KEYS, CountyResult, county_task, environment

__all__ = [
    "ProvinceError",
    "ProvinceRun",
    "province_client",
    "check_versions",
    "run_province",
    "done_counties",
    "read_results",
    "RUN_FILE",
]

RUN_FILE = "province-run.json"
COUNTIES_DIR = "counties"


class ProvinceError(ParcelwatchError, RuntimeError):
    """A province run cannot start or finish (cluster unreachable, versions differ, task failed)."""


@dataclass
class ProvinceRun:
    """What :func:`run_province` did."""

    out: Path
    batch: str
    counties: list[str]
    computed: list[str] = field(default_factory=list)  # in the order they were written
    skipped: list[str] = field(default_factory=list)  # already done before this run
    workers: dict[str, dict[str, str]] = field(default_factory=dict)
    results: dict[str, dict[str, Any]] = field(default_factory=dict)  # county -> meta
    write_seconds: float = 0.0  # time this (client) process spent writing results: the serial part


@contextmanager
def province_client(
    *, workers: int | None = None, cluster: str | None = None, memory_limit: str | None = None
) -> Iterator[Any]:
    """A dask client: a scheduler at ``cluster`` (tcp://HOST:PORT), else a LocalCluster.

    The LocalCluster has ``workers`` processes of one thread each, bound to 127.0.0.1 with no
    dashboard (GEOS releases the GIL but Arrow decoding and WKB parsing do not: processes scale
    better than threads here).
    """
    from distributed import Client, LocalCluster

    if cluster and workers:
        raise ProvinceError(
            "Give --workers (a cluster on this machine) or --cluster (a running scheduler), not both."
        )
    if cluster:
        _probe(cluster)
        try:
            client = Client(cluster, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise ProvinceError(
                f"Cannot reach the dask scheduler at {cluster}: {exc}. Start it with `dask scheduler` on that machine "
                "and check the address and port (default 8786) and the firewall."
            ) from exc
        try:
            yield client
        finally:
            client.close()
        return
    n = workers or min(2, os.cpu_count() or 1)
    if n < 1:
        raise ProvinceError(f"--workers must be at least 1, not {n}.")
    kw: dict[str, Any] = {"memory_limit": memory_limit} if memory_limit else {}
    with (
        LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            **kw,
        ) as lc,
        Client(lc) as client,
    ):
        yield client


def _probe(address: str) -> None:
    """Fail fast, with the fix, when nothing listens at the scheduler's address."""
    import socket
    from urllib.parse import urlsplit

    u = urlsplit(address if "://" in address else f"tcp://{address}")
    try:
        host, port = u.hostname, u.port or 8786
    except ValueError:
        host, port = None, 0
    if u.scheme not in ("tcp", "tls") or not host:
        raise ProvinceError(
            f"{address!r} is not a dask scheduler address. Give it as tcp://HOST:PORT, e.g. tcp://10.0.0.5:8786."
        )
    try:
        socket.create_connection((host, port), timeout=10).close()
    except OSError as exc:
        raise ProvinceError(
            f"Cannot reach the dask scheduler at {address}: {exc}. Start it with `dask scheduler` on that machine "
            "and check the address and port (default 8786) and the firewall."
        ) from exc


def _ask_workers() -> dict[str, str]:
    return environment()


def check_versions(client: Any) -> dict[str, dict[str, str]]:
    """Every worker's parcelwatch/GEOS/PROJ; raise :class:`ProvinceError` if any differs here.

    dask's own check (same Python, dask, distributed, cloudpickle ... on client, scheduler and
    workers) runs first.
    """
    try:
        client.get_versions(check=True)
    except ValueError as exc:
        raise ProvinceError(
            f"The dask cluster's Python packages differ between machines: {exc}. Install the same environment everywhere."
        ) from exc
    mine = environment()
    theirs: dict[str, dict[str, str]] = client.run(_ask_workers)
    if not theirs:
        raise ProvinceError(
            "The dask cluster has no workers. Start `dask worker tcp://SCHEDULER:8786` on the worker machines."
        )
    bad = [
        f"worker {addr}: "
        + ", ".join(f"{k} {env.get(k)} (here {mine[k]})" for k in ENV_KEYS if env.get(k) != mine[k])
        for addr, env in sorted(theirs.items())
        if any(env.get(k) != mine[k] for k in ENV_KEYS)
    ]
    if bad:
        raise ProvinceError(
            "Refusing to run: worker versions differ from this machine's (areas would differ between counties):\n  "
            + "\n  ".join(bad)
            + "\nInstall the same parcelwatch, shapely (GEOS) and pyproj (PROJ) on every worker, e.g. from one wheelhouse, and restart the workers."
        )
    return theirs


def _county_dir(out: Path, county: str) -> Path:
    return out / COUNTIES_DIR / f"{KEY}={county}"


def done_counties(out: str | Path) -> list[str]:
    """Counties whose result is complete in ``out``."""
    base = Path(out) / COUNTIES_DIR
    if not base.is_dir():
        return []
    return sorted(
        p.name.split("=", 1)[1]
        for p in base.iterdir()
        if p.name.startswith(f"{KEY}=") and (p / "meta.json").is_file()
    )


def _start_out(out: Path, store: ProvinceStore, batch: str, rules: Rules) -> None:
    """Mark ``out`` as this job's results; refuse one that holds another job's."""
    want = {"store": str(store.path.resolve()), "batch": batch, "rules_digest": rules.digest()}
    path = out / RUN_FILE
    if path.exists():
        try:
            have = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise OutputError(
                f"Cannot read {path}: {exc}. Remove the output folder {out} and run again."
            ) from exc
        diff = [f"{k} {have.get(k)!r} (now {v!r})" for k, v in want.items() if have.get(k) != v]
        if diff:
            raise OutputError(
                f"{out} holds the results of another province run: "
                + "; ".join(diff)
                + ". Choose another output folder (-o), or remove it to start again."
            )
        return
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / COUNTIES_DIR).mkdir(exist_ok=True)
        write_text_atomic(path, json.dumps(want, ensure_ascii=False, indent=1))
    except OSError as exc:
        raise OutputError(
            f"Cannot write to the output folder {out}: {exc}. Check it is writable."
        ) from exc


def write_county(out: Path, res: CountyResult) -> Path:
    """Write one county's result into a temporary folder and rename it into place (atomic)."""
    target = _county_dir(out, res.county)
    if (target / "meta.json").exists():
        raise OutputError(
            f"County {res.county} is already in {out}; a county is never written twice."
        )
    tmp = Path(tempfile.mkdtemp(prefix=f".{res.county}-", dir=out / COUNTIES_DIR))
    try:
        res.parcels.to_parquet(tmp / "parcels.parquet", index=False, write_covering_bbox=True)
        res.findings.to_parquet(tmp / "findings.parquet", index=False)
        meta = {
            "county": res.county,
            "batch": res.batch,
            "parcels": len(res.parcels),
            "findings": len(res.findings),
            "counts": res.counts,
            "rules_digest": res.rules_digest,
            "notes": res.notes,
            "skipped": [list(s) for s in res.skipped],
            "read": res.read,
            "seconds": round(res.seconds, 3),
            "host": res.host,
            "pid": res.pid,
        }
        (tmp / "meta.json").write_text(
            json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8"
        )
        os.chmod(tmp, 0o755)
        if target.exists():  # a folder without meta.json cannot be left by a rename; clear it
            shutil.rmtree(target)
        os.rename(tmp, target)
    except OSError as exc:
        raise OutputError(
            f"Cannot write the result of county {res.county} into {out}: {exc}. Check free space; the county will be computed again next run."
        ) from exc
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    with open(
        out / "written.log", "a", encoding="utf-8"
    ) as log:  # an audit of writes: one line per county
        log.write(f"{res.county}\n")
    return target


def run_province(
    store: str | Path | ProvinceStore,
    out: str | Path,
    *,
    batch: str,
    client: Any,
    rules: Rules = DEFAULT_RULES,
    counties: list[str] | None = None,
    retries: int = 2,
    task: Callable[..., CountyResult] = county_task,
    progress: Callable[[str, int, int], None] | None = None,
) -> ProvinceRun:
    """Classify every county of ``batch`` on the cluster behind ``client``; see the module docstring.

    ``progress(county, done, total)`` is called after each county is written (raising from it,
    e.g. KeyboardInterrupt, stops the run; what was written stays). ``task`` is the county task
    (tests pass a wrapper that fails once).
    """
    from distributed import KilledWorker, as_completed

    store = store if isinstance(store, ProvinceStore) else ProvinceStore(store)
    batch = check_batch_name(batch)
    out = Path(out)
    todo_all = store.batch_counties(batch) if counties is None else list(counties)
    unknown = [c for c in todo_all if c not in store.batch_counties(batch)]
    if unknown:
        raise ProvinceError(
            f"Counties {', '.join(unknown)} have no parcels of batch {batch} in {store.path}. Pack them first."
        )
    workers = check_versions(client)
    _start_out(out, store, batch, rules)
    done = set(done_counties(out))
    run = ProvinceRun(
        out, batch, todo_all, skipped=[c for c in todo_all if c in done], workers=workers
    )
    todo = sorted((c for c in todo_all if c not in done), key=lambda c: (-store.size(c, batch), c))
    futures = {}
    for rank, county in enumerate(todo):
        fut = client.submit(
            task,
            str(store.path),
            county,
            batch,
            rules=rules,
            key=f"parcelwatch-county-{county}-{uuid.uuid4().hex[:8]}",
            retries=retries,
            pure=False,
            priority=len(todo) - rank,
        )
        futures[fut] = county
    try:
        for fut in as_completed(list(futures)):
            county = futures[fut]
            try:
                res = fut.result()
            except ParcelwatchError as exc:
                raise ProvinceError(f"County {county} failed: {exc}") from exc
            except KilledWorker as exc:
                raise ProvinceError(
                    f"County {county} killed {exc.args[0] if exc.args else 'its'} workers in a row (out of memory?): {exc}. "
                    "Give the workers more memory (dask worker --memory-limit) and run again; written counties are kept."
                ) from exc
            except (OSError, RuntimeError, ValueError, KeyError, MemoryError) as exc:
                raise ProvinceError(
                    f"County {county} failed after {retries} retries: {type(exc).__name__}: {exc}. Counties already written are kept; "
                    "fix the cause (shared storage, memory) and run again to compute the rest."
                ) from exc
            fut.release()
            t0 = time.perf_counter()
            write_county(out, res)
            run.write_seconds += time.perf_counter() - t0
            run.computed.append(county)
            if progress is not None:
                progress(county, len(run.computed) + len(run.skipped), len(todo_all))
    finally:
        pending = [f for f in futures if not f.done()]
        if pending:
            client.cancel(pending)
    for c in todo_all:
        run.results[c] = json.loads((_county_dir(out, c) / "meta.json").read_text(encoding="utf-8"))
    return run


def read_results(
    out: str | Path, *, what: str = "parcels", counties: list[str] | None = None
) -> gpd.GeoDataFrame:
    """All written counties' ``parcels`` (or ``findings``) as one GeoDataFrame (EPSG:4490)."""
    codes = counties if counties is not None else done_counties(out)
    frames = [gpd.read_parquet(_county_dir(Path(out), c) / f"{what}.parquet") for c in codes]
    if not frames:
        return gpd.GeoDataFrame(
            {"xzqdm": pd.Series([], dtype=str)}, geometry=gpd.GeoSeries([], crs=4490)
        )
    frames = [f for f in frames if len(f)] or frames[:1]
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def county_rows(out: str | Path, county: str) -> int:
    """Rows in a written county's parcels file (from the footer)."""
    return int(pq.ParquetFile(_county_dir(Path(out), county) / "parcels.parquet").metadata.num_rows)
