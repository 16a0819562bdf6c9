"""One module per predicate kind, each a :class:`~loopkit.expect.kind.PredicateKind`."""
