"""Overlay metrics and the classification rules (大棚房 Class I/II/III, 耕地非农化)."""
