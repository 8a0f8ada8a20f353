"""Periodic reports built on the ledger: the 巡察整改 report (§E2), figures rounded half-up."""
