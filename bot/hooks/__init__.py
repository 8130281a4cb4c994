"""Pre-commit hooks: skeleton tests and marked stub bodies for staged files, free tier first.

``tierbot-tests`` (:mod:`bot.hooks.tests_hook`) and ``tierbot-stubs``
(:mod:`bot.hooks.stubs_hook`) run under the pre-commit framework; :mod:`bot.hooks.git_hook` runs
both as a plain git hook, which :mod:`bot.hooks.install` puts in place. A run with nothing to do
imports none of tierbot's heavy dependencies: see docs/hooks.md.
"""
