"""The channel pack (wave 2): dealer apps as YAML folders with seed data and scenario tests."""
