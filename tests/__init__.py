"""The suite mirrors the tree: `engine/bpmn/`, `engine/services/` and `engine/` for the engine,
`processes/<key>/` for each process and `processes/` for the packages themselves, `api/`,
`webui/` and `store/` for theirs, `stories/` for people's work end to end (a complaint in
Chromium, through the API). `data.py` holds the business data tests start processes with,
`flow.py` drives processes as users do, `conftest.py` the databases (SQLite and PostgreSQL)."""
