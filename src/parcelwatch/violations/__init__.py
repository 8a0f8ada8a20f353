"""两违 governance (seed 003, SEED-SYSTEMS §A): the case ledger, annual targets, the blacklist and
the comparison with aerial/satellite parcels.

* :mod:`parcelwatch.violations.cases`: settings, statuses and transitions, 增量/存量, governed area
  and progress against the calendar (pure functions).
* :mod:`parcelwatch.violations.blacklist`: who may be listed, matching a new case's party, masking.
* :mod:`parcelwatch.violations.compare`: same-site comparison of parcels with cases.
* :mod:`parcelwatch.violations.records`: the tables in the ledger store, with audit history.
"""
