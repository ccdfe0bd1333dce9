"""Job requests: what each job kind takes, its settings catalogue, checked before queueing."""
