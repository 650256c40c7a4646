"""The engine's services, named as Camunda names them: repository, runtime, tasks, history,
identity, management (jobs and incidents), migration, admin, worklist and inbox, with the
assignment and presentation helpers they share.

May import `engine.bpmn`, `engine.errors`, `engine.clock`, `engine.calendar`, `engine.operations`
and `store`; never Flask. Services reach each other through the ProcessEngine, never through each
other's private methods."""
