"""A low-code form-and-workflow engine: definitions, expressions, fields, store, runtime, service.

See docs/internals.md for how the packages fit together.
"""

__version__ = "0.1.0"
