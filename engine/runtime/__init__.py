"""Runtime interpreters of definitions: forms today; flows, rules and reports next."""
