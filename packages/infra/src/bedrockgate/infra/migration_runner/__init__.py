"""The database migration's custom-resource handlers: a Lambda asset of this directory (``handler.py``)."""
