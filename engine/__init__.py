"""The workflow enactment service: SpiffWorkflow behind services named as Camunda names them.

- `bpmn/`: SpiffWorkflow adapted to this product, without a database (parser, validation,
  serializer, sandboxed expressions and scripts, forms, pruning, stepping, timers, wait state,
  diagram state; every private SpiffWorkflow use in `bpmn/internals.py`).
- `services/`: one module per service (repository, runtime, tasks, history, identity, management,
  migration, admin, worklist, inbox) and the helpers they share (assignment, presentation,
  task_counts); `process_engine.ProcessEngine` holds them, as Camunda's ProcessEngine does.
- `authorization.py`: every allow and deny of the product; `config.py`: every setting, read from
  the environment once; `operations.py`: the invoked applications' registry and the organisation
  helpers they use; `process_parts.py`: what a process package contributes (columns, cards,
  names, rules), registered by the package; `matching.py`: how company names, phones and emails
  are compared; `calendar.py`, `clock.py`, `errors.py`, `mail.py`, `scheduler.py`: working time,
  UTC time, the errors (each with its HTTP status), email, the job ticker.

May import `store`; never `processes` (packages register themselves), Flask or `webui`
(tests/test_layering.py checks it).
"""
