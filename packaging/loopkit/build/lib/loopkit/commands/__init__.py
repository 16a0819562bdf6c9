"""Click command groups, one module per concept."""
