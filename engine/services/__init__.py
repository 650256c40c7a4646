"""The engine's services, named as Camunda names them: repository, runtime, tasks, history,
identity, management (jobs and incidents), migration, admin, worklist and inbox, with the
assignment and presentation helpers they share.

May import `engine.bpmn`, `engine.errors`, `engine.clock`, `engine.calendar`, `engine.operations`
and `store`; never Flask. Each service is given the collaborators it uses as keyword arguments
(`ProcessEngine` builds them in dependency order) and holds no engine; services call each other's
public methods only."""
