"""A repository's test suite as tierbot reads it: where the tests live and which names they cover.

One rule for the template tier (``tierbot run``) and the ``tierbot-tests`` hook. Everything here
is pure: the repository is seen through its path list and a ``read`` callable. The hook imports
these modules on every commit, so they avoid ``typing``, ``dataclasses`` and the template tier.
"""
