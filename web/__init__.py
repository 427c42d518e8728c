"""The Flask web front (issue 6): app factory, blueprints, templates; views call engine.service."""
