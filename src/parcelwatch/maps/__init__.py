"""The battle map (挂图作战): one self-contained, offline HTML map of the problem parcels."""
