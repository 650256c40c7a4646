"""SpiffWorkflow adapted to this product, with no database: parsing the Camunda 7 attributes,
validation, instance-only serialization, the sandboxed expressions and scripts, generated forms,
pruning and stepping the task tree, timers, the wait state and the diagram state.

May import SpiffWorkflow, lxml, `engine.errors`, `engine.clock` and `engine.calendar`; never `store`,
the services or Flask. Every use of SpiffWorkflow's private API lives in `engine.bpmn.internals`."""
