"""``Expect:`` lines: parsed into predicates, checked against what a step produced.

:mod:`~loopkit.expect.parse` turns the text into :class:`~loopkit.expect.predicate.Predicate`
values; each predicate kind is one module of :mod:`loopkit.expect.kinds` that says how the
kind reads and how it is checked (the :class:`~loopkit.expect.kind.PredicateKind` protocol);
:mod:`~loopkit.expect.all_kinds` lists them, the one registry a new kind is added to.
"""
