"""Town patrol (大巡查) and monthly village scoring (seed 004, SEED-SYSTEMS §B).

* :mod:`parcelwatch.patrol.scheme`: the town's scheme and catalogue (``WS/patrol.toml``), validated.
* :mod:`parcelwatch.patrol.scoring`: the scoring rules R1-R8 as a pure function.
* :mod:`parcelwatch.patrol.records`: findings, complaints, visits and their audit history in the
  ledger store.
* :mod:`parcelwatch.patrol.bulletin`: the monthly and quarterly bulletin (通报) as Excel.
"""
