"""The workflow enactment service: SpiffWorkflow behind Camunda-style services. No Flask here."""
