"""The orchestrator: a feature issue as a plan of typed subtasks, each on its own ladder.

``service.Orchestrator`` runs it; ``planner`` makes the one metered planner call (and its one
retry); ``scoped`` holds what one subtask may write; ``local`` is ``tierbot run``'s entry and
``github`` the task handler's.
"""
