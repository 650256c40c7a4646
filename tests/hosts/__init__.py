"""Several hosts and real faults: app hosts in network namespaces against a PostgreSQL of the
test's own; hosts killed, links cut and slowed, the database restarted under load."""
