"""Organisation (users, roles, departments, regions, dealers): filled in with permissions (issue 6)."""
