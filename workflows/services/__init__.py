"""The domain services the pages, the API and the jobs call: data docking and checks,
warnings, ledgers, dashboard figures, statistics, industry information, training,
documents, the audit chain, passwords, second factors, sign-ins, backups."""
