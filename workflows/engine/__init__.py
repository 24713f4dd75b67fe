"""The case engine on SpiffWorkflow: loading and checking models, running their scripts and
expressions under limits, timers, DMN tables, and keeping each case's state.

It knows nothing of the domain services (workflows.services) nor of Flask; the services
it calls are handed to it (the message handlers)."""
