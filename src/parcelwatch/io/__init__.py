"""Reading layers: encoding detection, field aliases, validation, the Excel clue table.

Import from the submodules (``parcelwatch.io.layers`` ...) or from ``parcelwatch`` itself.
"""
