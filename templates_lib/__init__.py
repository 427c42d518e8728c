"""Template library (wave 2): package, install and upgrade apps through engine.service."""
