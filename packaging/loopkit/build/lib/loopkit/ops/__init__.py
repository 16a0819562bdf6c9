"""Document operations behind the CLI verbs (locked, atomic, policy-checked)."""
