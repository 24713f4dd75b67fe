"""The city admin's pages: process models, checklist templates, users and rights, API keys,
the audit log."""
